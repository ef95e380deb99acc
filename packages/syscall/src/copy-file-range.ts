// copy_file_range(2): the kernel copies a byte range from one file to another without it passing
// through user space (and, on file systems that can, shares the blocks: xfs/btrfs reflinks, NFS server
// side copy). It is how `cp` copies big files; @ovl/tar's apply uses it for the bodies of big entries,
// read straight from an uncompressed layer file.
import { SyscallError } from './errors.js';
import { fn, lastErrno } from './libc.js';

const EINTR = 4;

// One 8-byte cell per offset, passed by pointer and advanced by the kernel; reused across calls
// (koffi calls are synchronous, so no two calls share them at once).
const offIn = new BigInt64Array(1);
const offOut = new BigInt64Array(1);

/**
 * Copies up to `length` bytes from `inFd` at `inOffset` to `outFd` at `outOffset` (neither descriptor's
 * file position moves). Returns the bytes copied — fewer than asked is normal (loop), 0 at the input's
 * end. Fails with a SyscallError: EXDEV where the kernel will not copy between these two file systems
 * (before 5.3 always, since 5.19 across different file system types), EINVAL or EOPNOTSUPP where a
 * file system does not take part, ENOSYS before Linux 4.5 — callers fall back to read and write then.
 * Synchronous.
 */
export function copyFileRange(
  inFd: number,
  inOffset: number,
  outFd: number,
  outOffset: number,
  length: number,
): number {
  const f = fn('long copy_file_range(int, int64_t *, int, int64_t *, size_t, unsigned int)');
  for (;;) {
    offIn[0] = BigInt(inOffset);
    offOut[0] = BigInt(outOffset);
    const n = f(inFd, offIn, outFd, offOut, length, 0);
    if (n >= 0) return n;
    const errno = lastErrno();
    if (errno === EINTR) continue;
    throw new SyscallError(errno, 'copy_file_range', undefined, {
      what: `copy_file_range of ${length} bytes from fd ${inFd} at ${inOffset} to fd ${outFd} at ${outOffset}`,
    });
  }
}
