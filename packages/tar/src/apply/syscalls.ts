/**
 * The few calls Node's fs lacks, taken from @ovl/syscall (synchronous koffi calls into libc). Kept
 * behind an interface so tests can record or fail them.
 */
import * as syscall from '@ovl/syscall';
import { lsetxattr, makedev, mknod, S_IFBLK, S_IFCHR, S_IFIFO } from '@ovl/syscall';

export interface ApplySyscalls {
  mknod(path: string, mode: number, dev: number): void;
  makedev(major: number, minor: number): number;
  lsetxattr(path: string, name: string, value: Buffer): void;
  /**
   * copy_file_range(2) with explicit offsets: bytes copied (0 at the input's end); throws with a Node
   * errno `code`. Optional: without it big bodies are copied with pread/pwrite through one buffer.
   */
  copyFileRange?(inFd: number, inOffset: number, outFd: number, outOffset: number, length: number): number;
}

type CopyFileRange = NonNullable<ApplySyscalls['copyFileRange']>;

/**
 * @ovl/syscall has no copy_file_range binding yet; when a version that exports `copyFileRange` (same
 * signature) is installed, apply uses it for the bodies of big files, as `cp` does.
 */
const kernelCopy = (syscall as unknown as { copyFileRange?: CopyFileRange }).copyFileRange;

export const nativeApplySyscalls: ApplySyscalls = kernelCopy
  ? { mknod, makedev, lsetxattr, copyFileRange: kernelCopy }
  : { mknod, makedev, lsetxattr };

export { S_IFBLK, S_IFCHR, S_IFIFO };
