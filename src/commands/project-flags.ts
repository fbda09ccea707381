import {Flags} from '@oclif/core'

const fileFlag = (char?: 'f') => Flags.string({char, description: 'The project file (default: contain.yml, contain.yaml or Procfile in this directory)', helpValue: 'FILE'})

/** The flag every project command takes: which contain.yml (default: the one in this directory). */
export const projectFlags = {file: fileFlag('f')}

/** For `contain logs`, where -f means --follow as in `docker logs -f`. */
export const projectFlagsWithoutShort = {file: fileFlag()}
