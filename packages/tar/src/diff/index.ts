export {
  type DiffOptions,
  type DiffSource,
  diff,
  diffToFile,
  type TreeDiffSource,
  type UpperDiffSource,
} from './diff.js';
export type { LayerEntry, LayerEntryType } from './layer-entry.js';
export type { LayerWriterProgress } from './layer-writer.js';
