export { AufsDriver, type AufsDriverOptions } from './driver.js';
export type { CreateOptions, Driver, GetOptions } from './driver-types.js';
export { AufsError, type AufsErrorCode, isAufsError } from './errors.js';
export { type AufsMountRequest, mountAufsStack, unmountAufs } from './mount.js';
export { assertAufsSupported, listsAufs, type SupportProbe } from './support.js';
export { treeSize } from './tree-size.js';
