/**
 * The few calls Node's fs lacks, taken from @ovl/syscall (synchronous koffi calls into libc). Kept
 * behind an interface so tests can record or fail them.
 */
import {
  copyFileRange,
  lsetxattr,
  makedev,
  mknod,
  S_IFBLK,
  S_IFCHR,
  S_IFIFO,
  sendFileAt,
} from '@ovl/syscall';

export interface ApplySyscalls {
  mknod(path: string, mode: number, dev: number): void;
  makedev(major: number, minor: number): number;
  lsetxattr(path: string, name: string, value: Buffer): void;
  /**
   * copy_file_range(2) with explicit offsets: bytes copied (0 at the input's end); throws with a Node
   * errno `code`. Optional (tests leave it out): without it, or where the kernel refuses a pair of file
   * systems (EXDEV…), big bodies are copied with pread/pwrite through one buffer.
   */
  copyFileRange?(inFd: number, inOffset: number, outFd: number, outOffset: number, length: number): number;
  /**
   * sendfile(2) at explicit offsets (moves the output's file position): the kernel copy where
   * copy_file_range says EXDEV. Optional, as above.
   */
  sendFileAt?(inFd: number, inOffset: number, outFd: number, outOffset: number, length: number): number;
}

export const nativeApplySyscalls: ApplySyscalls = { mknod, makedev, lsetxattr, copyFileRange, sendFileAt };

// Times to the nanosecond (Node's futimes/lutimes take a double of seconds: ~0.2 µs today).
export { AT_FDCWD, AT_SYMLINK_NOFOLLOW, futimensNs, utimensat } from '@ovl/syscall';
export { S_IFBLK, S_IFCHR, S_IFIFO };
