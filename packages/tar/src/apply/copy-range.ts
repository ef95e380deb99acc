/**
 * Copies a byte range from one descriptor to another: the body of a big tar entry, from the layer file
 * straight into the new file.
 *
 * With `copy_file_range(2)` (when the syscall layer offers it) the kernel moves the bytes itself, as
 * `cp` does; without it, positional reads and writes through one reused buffer — the buffer's pages stay
 * mapped and in cache, where a fresh buffer per chunk costs a page fault per 4 KiB and GC work.
 */
import { readSync, writeSync } from 'node:fs';
import type { ApplySyscalls } from './syscalls.js';

const BUFFER_SIZE = 1 << 20;
let shared: Buffer | undefined;

/** Errors that mean "this pair of descriptors cannot use copy_file_range": fall back to read/write. */
const NO_KERNEL_COPY = new Set(['ENOSYS', 'EXDEV', 'EINVAL', 'EOPNOTSUPP', 'ENOTSUP', 'EBADF']);

/**
 * Copies `length` bytes from `inFd` at `inOffset` to `outFd` at `outOffset`; returns the bytes copied,
 * fewer only when the input ends first (a truncated layer file).
 */
export function copyRange(
  sys: ApplySyscalls,
  inFd: number,
  inOffset: number,
  outFd: number,
  outOffset: number,
  length: number,
): number {
  let done = 0;
  if (sys.copyFileRange) {
    try {
      while (done < length) {
        const n = sys.copyFileRange(inFd, inOffset + done, outFd, outOffset + done, length - done);
        if (n === 0) return done;
        done += n;
      }
      return done;
    } catch (err) {
      if (done > 0 || !NO_KERNEL_COPY.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
    }
  }
  shared ??= Buffer.allocUnsafe(BUFFER_SIZE);
  const buf = shared;
  while (done < length) {
    const n = readSync(inFd, buf, 0, Math.min(buf.length, length - done), inOffset + done);
    if (n === 0) return done;
    let off = 0;
    while (off < n) off += writeSync(outFd, buf, off, n - off, outOffset + done + off);
    done += n;
  }
  return done;
}
