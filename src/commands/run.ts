import {runFlags} from '../config/run-flags.js'
import type {Handler} from './spec.js'

/** The flags are config/schema.ts's options by their flag names (run's row of the table is made from them): runFlags's RawRunFlags. */
const run: Handler = (input, io) => runFlags(input.flags, [...input.rest], io)
export default run
