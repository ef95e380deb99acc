export {
  type DiffOptions,
  type DiffSource,
  diff,
  type TreeDiffSource,
  type UpperDiffSource,
} from './diff.js';
export type { LayerEntry, LayerEntryType } from './layer-entry.js';
