#!/usr/bin/env -S node --
// "node --" ends node's own options: Node 20 otherwise reads any --env-file in contain's argv itself.
import {main} from '../dist/cli.js'

process.exitCode = (await main(process.argv.slice(2))) ?? process.exitCode
