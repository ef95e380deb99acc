export { type Change, type ChangeKind, comparePaths } from './change.js';
export { type ChangesFormat, type ChangesOptions, changes, changesSize } from './changes.js';
export type { LayerFormat } from './lower-view.js';
export { UnsupportedUpperError } from './unsupported-upper.js';
