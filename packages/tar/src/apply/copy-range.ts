/**
 * Copies a byte range from one descriptor to another: the body of a big tar entry, from the layer file
 * straight into the new file.
 *
 * With `copy_file_range(2)` (when the syscall layer offers it) the kernel moves the bytes itself, as
 * `cp` does; where it refuses the pair of file systems (EXDEV: a layer on ext4 applied onto tmpfs),
 * `sendfile(2)`, which still copies in the kernel (one copy of each byte, not two: 4 × 256 MiB from ext4
 * onto tmpfs in 0.23 s against 0.26 s); without either, positional reads and writes through one reused
 * buffer — the buffer's pages stay mapped and in cache, where a fresh buffer per chunk costs a page
 * fault per 4 KiB and GC work.
 */
import { readSync, writeSync } from 'node:fs';
import type { ApplySyscalls } from './syscalls.js';

const BUFFER_SIZE = 1 << 20;
let shared: Buffer | undefined;

/** Errors that mean "this pair of descriptors cannot use copy_file_range": fall back to read/write. */
const NO_KERNEL_COPY = new Set(['ENOSYS', 'EXDEV', 'EINVAL', 'EOPNOTSUPP', 'ENOTSUP', 'EBADF']);
/** Errors that mean "sendfile cannot copy between these two": fall back to read/write. */
const NO_SENDFILE = new Set(['ENOSYS', 'EINVAL', 'ESPIPE', 'EOPNOTSUPP', 'ENOTSUP']);

type KernelCopy = (
  inFd: number,
  inOffset: number,
  outFd: number,
  outOffset: number,
  length: number,
) => number;

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
  const kernel: [KernelCopy | undefined, Set<string>][] = [
    [sys.copyFileRange, NO_KERNEL_COPY],
    [sys.sendFileAt, NO_SENDFILE],
  ];
  for (const [copy, unsupported] of kernel) {
    const n = copy && copyWith(copy, unsupported, inFd, inOffset, outFd, outOffset, length);
    if (n !== undefined) return n;
  }
  shared ??= Buffer.allocUnsafe(BUFFER_SIZE);
  const buf = shared;
  let done = 0;
  while (done < length) {
    const n = readSync(inFd, buf, 0, Math.min(buf.length, length - done), inOffset + done);
    if (n === 0) return done;
    let off = 0;
    while (off < n) off += writeSync(outFd, buf, off, n - off, outOffset + done + off);
    done += n;
  }
  return done;
}

/**
 * The whole range through one kernel copy call, looped; undefined when its first call fails with one
 * of `unsupported` (nothing copied: the next way may try). Any other failure, or one after some bytes
 * were copied, is thrown.
 */
function copyWith(
  copy: KernelCopy,
  unsupported: Set<string>,
  inFd: number,
  inOffset: number,
  outFd: number,
  outOffset: number,
  length: number,
): number | undefined {
  let done = 0;
  try {
    while (done < length) {
      const n = copy(inFd, inOffset + done, outFd, outOffset + done, length - done);
      if (n === 0) return done;
      done += n;
    }
    return done;
  } catch (err) {
    if (done > 0 || !unsupported.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
    return undefined;
  }
}
