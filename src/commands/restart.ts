import {appVerb} from './app-verb.js'

export default appVerb('restart')
