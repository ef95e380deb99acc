// The new mount API (fsopen, fsconfig, fsmount, move_mount; Linux 5.2+), through syscall(2) so it
// works with any glibc. Overlay takes one `lowerdir+` per fsconfig call (6.8+) and layer
// descriptors with FSCONFIG_SET_FD (6.13+), which is how stacks of 500 layers with long paths mount.
import { closeSync, constants as fsc, openSync } from 'node:fs';
import {
  FSCONFIG_CMD_CREATE,
  FSCONFIG_SET_FD,
  FSCONFIG_SET_FLAG,
  FSCONFIG_SET_STRING,
  FSMOUNT_CLOEXEC,
  FSOPEN_CLOEXEC,
  O_PATH,
} from './constants.js';
import { SyscallError } from './errors.js';
import { fn, lastErrno, rawSyscall, SYS } from './libc.js';

const ENOSYS = 38;

/** fsopen(2): a filesystem context for `fstype`. Synchronous; returns a descriptor (close it). */
export function fsopen(fstype: string, flags = FSOPEN_CLOEXEC): number {
  const fd = rawSyscall(SYS.fsopen, 'const char *', fstype, 'unsigned int', flags);
  if (fd < 0) throw new SyscallError(lastErrno(), 'fsopen', undefined, { what: `fsopen ${fstype}` });
  return fd;
}

/** fsconfig(2), raw. Prefer the fsconfigSet* helpers. Synchronous. */
export function fsconfig(fsfd: number, cmd: number, key: string | null, value: string | null, aux = 0): void {
  const ret = rawSyscall(
    SYS.fsconfig,
    'int',
    fsfd,
    'unsigned int',
    cmd,
    'const char *',
    key,
    'const char *',
    value,
    'int',
    aux,
  );
  if (ret < 0) {
    const errno = lastErrno();
    const log = readFsContextLog(fsfd);
    const shown = value === null ? (key ?? '') : `${key}=${value}`;
    const what = `fsconfig ${cmdName(cmd)}${shown ? ` "${shown}"` : ''}${aux && cmd === FSCONFIG_SET_FD ? ` fd ${aux}` : ''}`;
    throw new SyscallError(errno, 'fsconfig', undefined, {
      what: log.length ? `${what} (kernel says: ${log.join('; ')})` : what,
    });
  }
}

export function fsconfigSetString(fsfd: number, key: string, value: string): void {
  fsconfig(fsfd, FSCONFIG_SET_STRING, key, value);
}
export function fsconfigSetFlag(fsfd: number, key: string): void {
  fsconfig(fsfd, FSCONFIG_SET_FLAG, key, null);
}
export function fsconfigSetFd(fsfd: number, key: string, fd: number): void {
  fsconfig(fsfd, FSCONFIG_SET_FD, key, null, fd);
}
/** FSCONFIG_CMD_CREATE: the superblock is made here, so most option errors surface here. */
export function fsconfigCreate(fsfd: number): void {
  fsconfig(fsfd, FSCONFIG_CMD_CREATE, null, null);
}

/** fsmount(2): a detached mount of the created superblock. Returns a descriptor. Synchronous. */
export function fsmount(fsfd: number, flags = FSMOUNT_CLOEXEC, attrFlags = 0): number {
  const fd = rawSyscall(SYS.fsmount, 'int', fsfd, 'unsigned int', flags, 'unsigned int', attrFlags);
  if (fd < 0) throw new SyscallError(lastErrno(), 'fsmount');
  return fd;
}

/** move_mount(2), e.g. `moveMount(mntfd, '', AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH)`. Synchronous. */
export function moveMount(
  fromDirfd: number,
  fromPath: string,
  toDirfd: number,
  toPath: string,
  flags = 0,
): void {
  const ret = rawSyscall(
    SYS.move_mount,
    'int',
    fromDirfd,
    'const char *',
    fromPath,
    'int',
    toDirfd,
    'const char *',
    toPath,
    'unsigned int',
    flags,
  );
  if (ret < 0)
    throw new SyscallError(lastErrno(), 'move_mount', toPath, { what: `move_mount to '${toPath}'` });
}

/** The messages the kernel left in a filesystem context ("e overlay: ..."), drained. */
export function readFsContextLog(fsfd: number): string[] {
  const read = fn('long read(int, void *, size_t)');
  const out: string[] = [];
  const buf = Buffer.alloc(1024);
  for (let i = 0; i < 64; i++) {
    const n = read(fsfd, buf, buf.length);
    if (n <= 0) break; // ENODATA when the log is empty
    out.push(buf.subarray(0, n).toString().trim());
  }
  return out;
}

let newApi: boolean | undefined;

/**
 * Whether the kernel has the new mount API. fsopen of a type every kernel has: ENOSYS means no;
 * success or EPERM (not root) means yes.
 */
export function hasNewMountApi(): boolean {
  if (newApi === undefined) {
    const fd = rawSyscall(SYS.fsopen, 'const char *', 'tmpfs', 'unsigned int', FSOPEN_CLOEXEC);
    if (fd >= 0) closeSync(fd);
    newApi = fd >= 0 || lastErrno() !== ENOSYS;
  }
  return newApi;
}

export interface OverlayMountFeatures {
  /** fsconfig `lowerdir+` / `datadir+` (Linux 6.8+) */
  lowerdirPlus: boolean;
  /** FSCONFIG_SET_FD layers (Linux 6.13+) */
  setFd: boolean;
}

let overlayFeatures: OverlayMountFeatures | undefined;

/** A key no overlayfs has: only the kernel's legacy parameter shim accepts it. */
const NONSENSE_KEY = 'ovl_probe_no_such_key';

/**
 * What the running kernel's overlayfs accepts through fsconfig, probed without mounting anything:
 * a context is opened, `lowerdir+` set to `/` as a string and as a descriptor, and thrown away.
 * Before 6.5 overlayfs had no fsconfig parser of its own: the kernel's legacy shim (fs_context.c,
 * legacy_parse_param) takes *any* string key and fails only at FSCONFIG_CMD_CREATE, so an accepted
 * `lowerdir+` proves nothing there. A nonsense key is tried first; if it is accepted, the kernel has
 * neither feature (seen on Debian's 6.1, where trusting `lowerdir+` made every deep mount fail).
 * Feeds `kernel` in @ovl/mountopts' planOverlayMount. Needs root (else reports false for both).
 */
export function probeOverlayFeatures(): OverlayMountFeatures {
  if (overlayFeatures) return overlayFeatures;
  const found: OverlayMountFeatures = { lowerdirPlus: false, setFd: false };
  if (hasNewMountApi()) {
    let fsfd = -1;
    let dirfd = -1;
    try {
      fsfd = fsopen('overlay');
      if (acceptsString(fsfd, NONSENSE_KEY)) throw new Error('legacy fsconfig shim');
      fsconfigSetString(fsfd, 'lowerdir+', '/');
      found.lowerdirPlus = true;
      dirfd = openSync('/', O_PATH | fsc.O_DIRECTORY);
      fsconfigSetFd(fsfd, 'lowerdir+', dirfd);
      found.setFd = true;
    } catch {
      // the first refusal tells us what is missing
    } finally {
      if (dirfd >= 0) closeSync(dirfd);
      if (fsfd >= 0) closeSync(fsfd);
    }
  }
  overlayFeatures = found;
  return found;
}

function acceptsString(fsfd: number, key: string): boolean {
  try {
    fsconfigSetString(fsfd, key, '/');
    return true;
  } catch {
    return false;
  }
}

function cmdName(cmd: number): string {
  return (
    [
      'SET_FLAG',
      'SET_STRING',
      'SET_BINARY',
      'SET_PATH',
      'SET_PATH_EMPTY',
      'SET_FD',
      'CMD_CREATE',
      'CMD_RECONFIGURE',
    ][cmd] ?? String(cmd)
  );
}
