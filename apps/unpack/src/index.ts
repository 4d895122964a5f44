export { startUnpackApp, type UnpackApp } from './unpack-app.js';
export { readUnpackConfig, type UnpackConfig } from './config.js';
export {
  ArchiveExtractor,
  ArchiveError,
  type ExtractedFile,
  type RefusedEntry,
} from './archive-extractor.js';
export { judgeEntryHeader, type RefusalCode } from './entry-policy.js';
export { looksLikeMp3 } from './mp3-sniffer.js';
export { OpusConverter } from './opus-converter.js';
export { unpackArchive, type UnpackDeps, type UnpackResult } from './unpack-handler.js';
export { createConvertHandler, type ConvertDeps } from './convert-handler.js';
