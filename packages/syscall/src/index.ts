export * from './constants.js';
export { copyFileRange } from './copy-file-range.js';
export { errnoName, SyscallError } from './errors.js';
export {
  AT_FDCWD,
  AT_SYMLINK_NOFOLLOW,
  close,
  fchmod,
  fchown,
  futimens,
  futimensNs,
  O_CLOEXEC,
  O_PATH,
  openat,
  utimensat,
  writeAll,
} from './fd-calls.js';
export { flock, LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN } from './flock.js';
export {
  type AdvisedRange,
  adviseBuffer,
  bufferAddress,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MADV_NORMAL,
  MADV_WILLNEED,
  type TransparentHugePages,
  transparentHugePages,
} from './madvise.js';
export {
  M_ARENA_MAX,
  M_MMAP_MAX,
  M_MMAP_THRESHOLD,
  M_TOP_PAD,
  M_TRIM_THRESHOLD,
  type MallocStats,
  mallocStats,
  mallocTrim,
  mallopt,
} from './malloc.js';
export { makedev, mknod, splitDev } from './mknod.js';
export { chroot, getPageSize, mount, umount2 } from './mount.js';
export { stopMountThread } from './mount-thread-client.js';
export { isMountpoint, type MountInfo, parseMountinfo, readMountinfo } from './mountinfo.js';
export {
  fsconfig,
  fsconfigCreate,
  fsconfigSetFd,
  fsconfigSetFlag,
  fsconfigSetString,
  fsmount,
  fsopen,
  hasNewMountApi,
  moveMount,
  type OverlayMountFeatures,
  probeOverlayFeatures,
  readFsContextLog,
} from './new-mount-api.js';
export { getPipeSize, O_NONBLOCK, pipe, setPipeSize } from './pipe.js';
export { gettid, setThreadNice, threadIds, threadNice } from './priority.js';
export { createRecordingSyscalls, type RecordedCall, type RecordingOptions } from './recording.js';
export { type Isolation, type RunPlanOptions, runPlan } from './run-plan.js';
export { sendFileAt } from './sendfile.js';
export { fsNameOf, type StatFs, statfs } from './statfs.js';
export { lstatx, lstatxAt, type Statx } from './statx.js';
export { nativeSyscalls, type Syscalls } from './syscalls.js';
export { fgetxattr, flistxattr, lgetxattr, llistxattr, lremovexattr, lsetxattr } from './xattr.js';
export {
  FS_XFLAG_PROJINHERIT,
  type FsXattr,
  fsGetXattr,
  fsSetXattr,
  getProjectId,
  getProjectQuota,
  getQuotaState,
  type ProjectQuota,
  type ProjectQuotaLimits,
  type QuotaState,
  setProjectId,
  setProjectQuota,
} from './xfs-quota.js';
