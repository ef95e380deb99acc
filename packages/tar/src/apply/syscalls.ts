/**
 * The few calls Node's fs lacks, taken from @ovl/syscall (synchronous koffi calls into libc). Kept
 * behind an interface so tests can record or fail them.
 */
import { lsetxattr, makedev, mknod, S_IFBLK, S_IFCHR, S_IFIFO } from '@ovl/syscall';

export interface ApplySyscalls {
  mknod(path: string, mode: number, dev: number): void;
  makedev(major: number, minor: number): number;
  lsetxattr(path: string, name: string, value: Buffer): void;
}

export const nativeApplySyscalls: ApplySyscalls = { mknod, makedev, lsetxattr };

export { S_IFBLK, S_IFCHR, S_IFIFO };
