export { OverlayDriver, type ResolvedLayer } from './driver.js';
export type { OverlayDriverOptions } from './driver-options.js';
export type { Change, CreateOptions, Driver, GetOptions } from './driver-types.js';
export { OverlayError, type OverlayErrorCode } from './errors.js';
export { type OverlayKernelFeatures, probeKernelFeatures } from './kernel-features.js';
export { type LayerMount, planLayerMount } from './mount-layer.js';
export { checkBackingFs, overlayInKernel } from './support.js';
