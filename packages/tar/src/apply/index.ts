export { apply, applyWith } from './apply.js';
export type { LayerInput } from './layer-source.js';
export type { ApplyOptions, ApplyProgress, ApplyResult, IdMapping, WhiteoutFormat } from './options.js';
export type { ApplySyscalls } from './syscalls.js';
