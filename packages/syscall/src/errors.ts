import { constants } from 'node:os';

const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) {
  // os.constants.errno has aliases (EWOULDBLOCK = EAGAIN, EDEADLOCK = EDEADLK): keep the first.
  if (!errnoNames.has(value)) errnoNames.set(value, name);
}

/** The symbolic name of an errno value ('EPERM'), or `E<n>` when Node does not know it. */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

export interface SyscallErrorDetails {
  /** what was tried, e.g. `mount overlay on /x (data 812 bytes)` */
  what?: string;
  /** what usually fixes it; computed from the code and syscall when omitted */
  hint?: string;
  /** the second path of a two-path call (Node calls it `dest`) */
  dest?: string;
  /** runPlan: index of the failing step */
  step?: number;
  cause?: unknown;
}

/**
 * A failed system call, shaped like Node's own fs errors: `code` ('EPERM'), `errno` (negative, as
 * Node's are: -1 for EPERM), `syscall` ('mount') and `path`. The message says what was tried and
 * what usually fixes it.
 */
export class SyscallError extends Error {
  override name = 'SyscallError';
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly path?: string;
  readonly dest?: string;
  /** runPlan: index of the step that failed */
  readonly step?: number;

  constructor(errno: number, syscall: string, path?: string, details: SyscallErrorDetails = {}) {
    const code = errnoName(Math.abs(errno));
    const hint = details.hint ?? hintFor(code, syscall);
    const what = details.what ?? (path === undefined ? syscall : `${syscall} '${path}'`);
    super(`${code}: ${what}${hint ? `. ${hint}` : ''}`, details.cause ? { cause: details.cause } : undefined);
    this.code = code;
    this.errno = -Math.abs(errno);
    this.syscall = syscall;
    if (path !== undefined) this.path = path;
    if (details.dest !== undefined) this.dest = details.dest;
    if (details.step !== undefined) this.step = details.step;
  }
}

/** The usual fix for an errno from a given call; empty when there is nothing better to say. */
export function hintFor(code: string, syscall: string): string {
  const mountish = /mount|fsopen|fsconfig|fsmount|move_mount|chroot|pivot/.test(syscall);
  switch (code) {
    case 'EPERM':
      return mountish
        ? 'Run as root or give the process CAP_SYS_ADMIN (in a container: --privileged or --cap-add SYS_ADMIN)'
        : 'Run as root or with the needed capability (CAP_MKNOD for devices, CAP_SYS_ADMIN for trusted.* xattrs)';
    case 'EACCES':
      return 'Check the permissions of every directory on the path';
    case 'ENOENT':
      return 'A path does not exist: create the target and every layer directory first';
    case 'ENOTDIR':
      return 'A component of the path is not a directory';
    case 'EBUSY':
      return mountish
        ? 'Something still uses the mount (open files, a working directory, a nested mount): close it, or unmount with MNT_DETACH'
        : '';
    case 'ENODEV':
      return 'The kernel does not know this filesystem type: load its module (modprobe overlay)';
    case 'ENOSYS':
      return 'The kernel lacks this system call (the new mount API needs Linux 5.2+)';
    case 'ENOTSUP':
    case 'EOPNOTSUPP':
      return syscall.includes('xattr')
        ? 'The filesystem does not support this extended attribute namespace'
        : 'The filesystem does not support this operation';
    case 'EROFS':
      return 'The filesystem is read-only';
    case 'ENAMETOOLONG':
      return 'A path or value is too long (fsconfig values are capped at 255 bytes)';
    case 'EINVAL':
      return mountish
        ? 'The kernel rejected the options: check the option string (dmesg or the fs context log often says which option)'
        : '';
    default:
      return '';
  }
}

/** Throws a SyscallError for the errno of the last call when `ret` is negative; returns `ret`. */
export function check(
  ret: number,
  errno: number,
  syscall: string,
  path?: string,
  details?: SyscallErrorDetails,
) {
  if (ret < 0) throw new SyscallError(errno, syscall, path, details);
  return ret;
}
