// XFS project quotas: a directory gets a project ID (FS_IOC_FSSETXATTR, with PROJINHERIT so that
// everything created below it carries the same ID), and quotactl(2) sets a block limit on that
// project. This is how Docker's overlay2 and containers/storage implement `overlay.size`
// (drivers/quota/projectquota.go). Layouts from linux/fs.h and linux/dqblk_xfs.h; the ioctl numbers
// use the generic _IOC encoding (x86-64, arm64, riscv; not powerpc/mips/sparc).
import { closeSync, constants, openSync } from 'node:fs';
import { errnoName, SyscallError } from './errors.js';
import { fn, lastErrno } from './libc.js';

/** FS_XFLAG_PROJINHERIT: new files and directories below take the directory's project ID. */
export const FS_XFLAG_PROJINHERIT = 0x200;

// struct fsxattr: xflags, extsize, nextents, projid, cowextsize (u32 each), pad[8] = 28 bytes
const FSXATTR_SIZE = 28;
const FS_IOC_FSGETXATTR = (2 << 30) | (FSXATTR_SIZE << 16) | (0x58 << 8) | 31; // _IOR('X', 31, …)
const FS_IOC_FSSETXATTR = (1 << 30) | (FSXATTR_SIZE << 16) | (0x58 << 8) | 32; // _IOW('X', 32, …)

/** The fields of struct fsxattr that callers use. */
export interface FsXattr {
  /** FS_XFLAG_* bits */
  xflags: number;
  extsize: number;
  nextents: number;
  /** the project ID (0: none) */
  projid: number;
  cowextsize: number;
}

function ioctlHint(code: string): string {
  if (code === 'ENOTTY' || code === 'EOPNOTSUPP' || code === 'ENOTSUP' || code === 'EINVAL')
    return 'The filesystem has no project IDs (FS_IOC_FSGETXATTR): put the directory on xfs (or ext4 made with -O project)';
  if (code === 'EPERM') return 'Setting a project ID needs root (CAP_FOWNER and CAP_SYS_RESOURCE)';
  return '';
}

function withOpen<T>(path: string, syscall: string, f: (fd: number) => T): T {
  let fd: number;
  try {
    // O_NONBLOCK | O_NOCTTY: a fifo or a tty given by mistake must not hang or become ours
    fd = openSync(
      path,
      constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY,
    );
  } catch (err) {
    const errno = Math.abs((err as NodeJS.ErrnoException).errno ?? 2);
    throw new SyscallError(errno, syscall, path, { what: `open '${path}' for ${syscall}`, cause: err });
  }
  try {
    return f(fd);
  } finally {
    closeSync(fd);
  }
}

function ioctl(fd: number, request: number, buf: Buffer): number {
  // request is `unsigned long`; FS_IOC_FSGETXATTR has the top bit set, so pass it unsigned
  return fn('int ioctl(int, unsigned long, ...)')(fd, request >>> 0, 'void *', buf);
}

function readFsXattr(fd: number, path: string): FsXattr {
  const buf = Buffer.alloc(FSXATTR_SIZE);
  if (ioctl(fd, FS_IOC_FSGETXATTR, buf) < 0) {
    const errno = lastErrno();
    const what = `ioctl FS_IOC_FSGETXATTR '${path}'`;
    throw new SyscallError(errno, 'ioctl', path, { what, hint: ioctlHint(errnoName(errno)) });
  }
  return {
    xflags: buf.readUInt32LE(0),
    extsize: buf.readUInt32LE(4),
    nextents: buf.readUInt32LE(8),
    projid: buf.readUInt32LE(12),
    cowextsize: buf.readUInt32LE(16),
  };
}

/** ioctl(FS_IOC_FSGETXATTR) on a directory or file (not followed when a symlink). Synchronous. */
export function fsGetXattr(dir: string): FsXattr {
  return withOpen(dir, 'ioctl', (fd) => readFsXattr(fd, dir));
}

/** ioctl(FS_IOC_FSSETXATTR) on a directory or file: writes `xflags`, `extsize`, `projid`, `cowextsize`. Synchronous. */
export function fsSetXattr(dir: string, attr: FsXattr): void {
  withOpen(dir, 'ioctl', (fd) => writeFsXattr(fd, dir, attr));
}

function writeFsXattr(fd: number, path: string, attr: FsXattr): void {
  const buf = Buffer.alloc(FSXATTR_SIZE);
  buf.writeUInt32LE(attr.xflags >>> 0, 0);
  buf.writeUInt32LE(attr.extsize >>> 0, 4);
  buf.writeUInt32LE(attr.nextents >>> 0, 8);
  buf.writeUInt32LE(attr.projid >>> 0, 12);
  buf.writeUInt32LE(attr.cowextsize >>> 0, 16);
  if (ioctl(fd, FS_IOC_FSSETXATTR, buf) < 0) {
    const errno = lastErrno();
    const what = `ioctl FS_IOC_FSSETXATTR '${path}' (projid ${attr.projid})`;
    throw new SyscallError(errno, 'ioctl', path, { what, hint: ioctlHint(errnoName(errno)) });
  }
}

/** The project ID of a directory or file (0 when it has none). Synchronous. */
export function getProjectId(dir: string): number {
  return fsGetXattr(dir).projid;
}

/**
 * Gives a directory a project ID, with FS_XFLAG_PROJINHERIT set (or cleared, `inherit: false`), in
 * one open: read the attributes, change the two fields, write them back. Files already inside keep
 * their IDs; only what is created afterwards inherits. Synchronous.
 */
export function setProjectId(dir: string, projid: number, inherit = true): void {
  withOpen(dir, 'ioctl', (fd) => {
    const attr = readFsXattr(fd, dir);
    attr.projid = projid;
    attr.xflags = inherit ? attr.xflags | FS_XFLAG_PROJINHERIT : attr.xflags & ~FS_XFLAG_PROJINHERIT;
    writeFsXattr(fd, dir, attr);
  });
}

// quotactl(2) commands: QCMD(cmd, type) = cmd << 8 | type; the XFS commands are ('X' << 8) + n.
const PRJQUOTA = 2;
const Q_XGETQUOTA = (0x58 << 8) + 3;
const Q_XSETQLIM = (0x58 << 8) + 4;
const Q_XGETQSTATV = (0x58 << 8) + 8;
const qcmd = (cmd: number, type: number) => (cmd << 8) | (type & 0xff);

// struct fs_disk_quota (112 bytes); limits and counts are in 512-byte basic blocks
const DQUOT_SIZE = 112;
const FS_DQUOT_VERSION = 1;
const FS_PROJ_QUOTA = 2;
const FS_DQ_ISOFT = 1;
const FS_DQ_IHARD = 2;
const FS_DQ_BSOFT = 4;
const FS_DQ_BHARD = 8;
const BB = 512;

/** Limits to set on a project; a field left out is not changed, 0 removes that limit. */
export interface ProjectQuotaLimits {
  /** bytes, rounded down to 512 */
  blockHardLimit?: number;
  blockSoftLimit?: number;
  inodeHardLimit?: number;
  inodeSoftLimit?: number;
}

/** A project's limits and usage (Q_XGETQUOTA), bytes for blocks. */
export interface ProjectQuota {
  projectId: number;
  blockHardLimit: number;
  blockSoftLimit: number;
  inodeHardLimit: number;
  inodeSoftLimit: number;
  /** bytes the project's files occupy on disk */
  blocksUsed: number;
  inodesUsed: number;
}

function quotactlHint(code: string): string {
  switch (code) {
    case 'ENOSYS':
      return 'Quotas are off for this file system, or the kernel has none (XFS needs CONFIG_XFS_QUOTA): mount it with -o prjquota on a kernel built with XFS quota support';
    case 'ESRCH':
    case 'EINVAL':
      return 'Project quotas are not on for this file system: mount the xfs file system with -o prjquota (pquota); a remount cannot turn them on, it needs a fresh mount';
    case 'ENOTBLK':
    case 'ENODEV':
      return 'The path is not the block device of a mounted file system: pass the device the file system is mounted from';
    case 'EPERM':
      return 'Setting quotas needs root (CAP_SYS_ADMIN)';
    default:
      return '';
  }
}

function quotactl(cmd: number, device: string, id: number, buf: Buffer, what: string): void {
  const f = fn('int quotactl(int, const char *, uint32_t, void *)');
  if (f(cmd, device, id >>> 0, buf) < 0) {
    const errno = lastErrno();
    throw new SyscallError(errno, 'quotactl', device, { what, hint: quotactlHint(errnoName(errno)) });
  }
}

/**
 * quotactl(QCMD(Q_XSETQLIM, PRJQUOTA)): sets the limits of project `projectId` on the file system
 * mounted from `blockDevice`. With no field given, only checks that project quotas are on (the
 * kernel refuses the call when they are not). Synchronous.
 */
export function setProjectQuota(blockDevice: string, projectId: number, limits: ProjectQuotaLimits): void {
  const buf = Buffer.alloc(DQUOT_SIZE);
  let mask = 0;
  const put = (value: number | undefined, bit: number, offset: number, unit: number) => {
    if (value === undefined) return;
    mask |= bit;
    buf.writeBigUInt64LE(BigInt(Math.floor(value / unit)), offset);
  };
  put(limits.blockHardLimit, FS_DQ_BHARD, 8, BB);
  put(limits.blockSoftLimit, FS_DQ_BSOFT, 16, BB);
  put(limits.inodeHardLimit, FS_DQ_IHARD, 24, 1);
  put(limits.inodeSoftLimit, FS_DQ_ISOFT, 32, 1);
  buf.writeInt8(FS_DQUOT_VERSION, 0);
  buf.writeInt8(FS_PROJ_QUOTA, 1);
  buf.writeUInt16LE(mask, 2);
  buf.writeUInt32LE(projectId >>> 0, 4);
  const what = `quotactl Q_XSETQLIM project ${projectId} on '${blockDevice}' (${JSON.stringify(limits)})`;
  quotactl(qcmd(Q_XSETQLIM, PRJQUOTA), blockDevice, projectId, buf, what);
}

/**
 * quotactl(QCMD(Q_XGETQUOTA, PRJQUOTA)): the limits and usage of a project. A project the file
 * system holds nothing for (no limits, no files) reads as all zeros. Synchronous.
 */
export function getProjectQuota(blockDevice: string, projectId: number): ProjectQuota {
  const buf = Buffer.alloc(DQUOT_SIZE);
  try {
    quotactl(
      qcmd(Q_XGETQUOTA, PRJQUOTA),
      blockDevice,
      projectId,
      buf,
      `quotactl Q_XGETQUOTA project ${projectId} on '${blockDevice}'`,
    );
  } catch (err) {
    if ((err as SyscallError).code !== 'ENOENT') throw err;
    buf.fill(0);
  }
  const u64 = (offset: number) => Number(buf.readBigUInt64LE(offset));
  return {
    projectId,
    blockHardLimit: u64(8) * BB,
    blockSoftLimit: u64(16) * BB,
    inodeHardLimit: u64(24),
    inodeSoftLimit: u64(32),
    blocksUsed: u64(40) * BB,
    inodesUsed: u64(48),
  };
}

/** Whether project quotas are counted and enforced (Q_XGETQSTATV). */
export interface QuotaState {
  projectAccounting: boolean;
  /** false on `-o pqnoenforce`: usage is counted but limits are not applied */
  projectEnforcement: boolean;
}

const FS_QUOTA_PDQ_ACCT = 1 << 4;
const FS_QUOTA_PDQ_ENFD = 1 << 5;

/** quotactl(QCMD(Q_XGETQSTATV, PRJQUOTA)) on the file system mounted from `blockDevice`. Synchronous. */
export function getQuotaState(blockDevice: string): QuotaState {
  const buf = Buffer.alloc(168); // struct fs_quota_statv
  buf.writeInt8(1, 0); // FS_QSTATV_VERSION1
  quotactl(qcmd(Q_XGETQSTATV, PRJQUOTA), blockDevice, 0, buf, `quotactl Q_XGETQSTATV on '${blockDevice}'`);
  const flags = buf.readUInt16LE(2);
  return {
    projectAccounting: (flags & FS_QUOTA_PDQ_ACCT) !== 0,
    projectEnforcement: (flags & FS_QUOTA_PDQ_ENFD) !== 0,
  };
}
