export { atomicSymlink, atomicWriteFile, fsyncDir } from './atomic-write.js';
export {
  AUFS_DEFAULT_MAX_DEPTH,
  type AufsLayerPaths,
  type AufsRepairReport,
  AufsStore,
  type AufsStoreOptions,
} from './aufs-store.js';
export { isErrno, StoreError, type StoreErrorCode } from './errors.js';
export { type FileLock, lockFile, withFileLock } from './file-lock.js';
export { hiddenName, ownerIsAlive, REMOVING_PREFIX, STAGING_PREFIX } from './hidden-names.js';
export { isValidLayerId, MAX_LAYER_ID_LENGTH, validateLayerId } from './layer-id.js';
export { generateLinkId, isLinkId, LINK_ID_LENGTH } from './link-id.js';
export {
  DEFAULT_MAX_DEPTH,
  DOCKER_MAX_DEPTH,
  LINK_ENTRY_BYTES,
  linkRelativeDataBytes,
  maxLinkRelativeLayers,
} from './max-depth.js';
export { mountsUnder } from './mounts-under.js';
export type { RepairReport } from './overlay-repair.js';
export { type OverlayLayerPaths, OverlayStore, type OverlayStoreOptions } from './overlay-store.js';
export { isAlive, type ProcessIdentity, processStartTime, selfIdentity } from './process-identity.js';
export { type Holder, RefCounts } from './ref-counts.js';
export { removeLeftovers, removeOutOfSight } from './remove-tree.js';
