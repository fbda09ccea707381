/**
 * The log path of the supervisor, one module a concern: the record format (log-record.ts), the
 * files and the seam that opens them (log-files.ts), the writer (log-writer.ts, with
 * line-formatter.ts and log-batch.ts), the last lines kept in memory (last-lines.ts) and reading
 * back (log-reader.ts). Following a log (`contain logs -f`) lives in log-follow.ts.
 *
 * Rotated files: app.log (newest), app.log.1, ..., app.log.<maxFiles-1> (oldest).
 */
export {LastLines, lastLinesOf} from './last-lines.js'
export {LineFormatter} from './line-formatter.js'
export {
  DEFAULT_MAX_FILES,
  DEFAULT_MAX_SIZE_BYTES,
  directoryLogFileSystem,
  nodeLogFileSystem,
  openLogDirectory,
  openLogFileNoFollow,
  rotatedPath,
  type LogFileSystem,
} from './log-files.js'
export {
  closeLogFiles,
  collectLastLines,
  collectLastRecords,
  completeEnd,
  openLogFiles,
  readAt,
  readLastLines,
  validateReadOptions,
  type OpenLogFile,
  type ReadOptions,
} from './log-reader.js'
export {
  firstRecordSince,
  formatLogLine,
  parseLogLine,
  parseRecords,
  printLogRecords,
  textOfRecords,
  type LogLine,
  type LogStream,
  type Prefix,
} from './log-record.js'
export {AppLog, DEFAULT_MAX_LINE_BYTES, DEFAULT_MAX_QUEUED_BYTES, type LogOptions} from './log-writer.js'
