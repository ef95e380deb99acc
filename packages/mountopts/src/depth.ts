// overlayfs stacks at most OVL_MAX_STACK = 500 lower layers (data-only layers included); the 501st
// makes mount(2) and fsconfig answer EINVAL. Checking first turns that into an error that says why.

import { MountOptsError } from './errors.js';

/** The kernel's OVL_MAX_STACK. */
export const OVERLAY_MAX_DEPTH = 500;

/** Throw ERR_OVL_MAX_DEPTH when `depth` layers exceed `maxDepth` (default 500). */
export function checkDepth(depth: number, maxDepth: number = OVERLAY_MAX_DEPTH, fstype = 'overlay'): void {
  if (depth > maxDepth) {
    throw new MountOptsError(
      'ERR_OVL_MAX_DEPTH',
      `${depth} lower layers exceed the ${fstype} limit of ${maxDepth}; squash layers (e.g. commit the ` +
        'container and build from it) to make the chain shorter',
      { depth, maxDepth },
    );
  }
}
