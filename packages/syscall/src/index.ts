export * from './constants.js';
export { errnoName, SyscallError } from './errors.js';
export { makedev, mknod, splitDev } from './mknod.js';
export { chroot, getPageSize, mount, umount2 } from './mount.js';
export { fsNameOf, type StatFs, statfs } from './statfs.js';
export { lgetxattr, llistxattr, lremovexattr, lsetxattr } from './xattr.js';
