export * from './apply/index.js';
export * from './changes/index.js';
export {
  type Compression,
  type Decompressed,
  type DecompressOptions,
  decompress,
  sniffCompression,
  zstdBinaryPath,
} from './decompress.js';
export * from './diff/index.js';
export * from './errors.js';
export { type ProcessTuning, tuneProcess } from './process-tuning.js';
export * from './whiteouts.js';
