import {Flags} from '@oclif/core'
import {PROJECT_FILE_DESCRIPTION} from '../cli/up-argv.js'

const fileFlag = (char?: 'f') => Flags.string({char, description: PROJECT_FILE_DESCRIPTION, helpValue: 'FILE'})

/** The flag every project command takes: which contain.yml (default: the one in this directory). */
export const projectFlags = {file: fileFlag('f')}

/** For `contain logs`, where -f means --follow as in `docker logs -f`. */
export const projectFlagsWithoutShort = {file: fileFlag()}
