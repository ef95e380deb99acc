// One import for the whole toolkit: the driver registry and image operations at the top level, and
// every package's API under its own namespace (their names would collide if merged).

export * as aufs from '@ovl/aufs';
export * as image from '@ovl/image';
export * as mountopts from '@ovl/mountopts';
export * as overlay from '@ovl/overlay';
export * as store from '@ovl/store';
export * as syscall from '@ovl/syscall';
export * as tar from '@ovl/tar';
export { main as cli } from './cli/main.js';
export { type CommitOptions, type CommitResult, chainIdOf, commitMount } from './commit.js';
export type { Change, CreateOptions, Driver, DriverInit, DriverOptions, GetOptions } from './driver.js';
export { VfsDriver } from './drivers/vfs.js';
export { OvlError } from './errors.js';
export { LayerDb, type LayerRecord } from './layer-db.js';
export { type MountOptions, type MountResult, mountLayer, unmountTarget } from './mount.js';
export { type NewLayer, type WriteOciOptions, writeOciLayout } from './oci-writer.js';
export { open, register, registeredDrivers } from './open.js';
export type { OpenOptions } from './registry.js';
export {
  flattenImage,
  type LayerProgress,
  type UnpackOptions,
  type UnpackResult,
  unpackImage,
} from './unpack.js';
