// madvise(2) on the memory of a JS buffer, and the host's transparent-huge-page mode. Why @ovl/tar wants
// it: on a VM a first touch of fresh anonymous memory costs ~4 µs per 4 KiB page, so 1 MiB chunks handed
// to a stream consumer (who keeps them, so they cannot be reused) cost ~1 ms per MiB in page faults —
// the main cost of `diff()` into a WriteStream on a rootfs. In 2 MiB huge pages the same memory faults
// 512 times less often: 210 MB read into fresh 1 MiB buffers took 0.24 s, into chunks of huge-page slabs
// 0.04 s (reusing one buffer: 0.02 s).
import { readFileSync } from 'node:fs';
import { SyscallError } from './errors.js';
import { fn, lastErrno } from './libc.js';

/** madvise advice values (asm-generic/mman-common.h; the same on x64 and arm64). */
export const MADV_NORMAL = 0;
export const MADV_WILLNEED = 3;
export const MADV_HUGEPAGE = 14;
export const MADV_NOHUGEPAGE = 15;

/**
 * Advice that only hints and never changes a byte of the memory. The ones that drop or zero pages
 * (MADV_DONTNEED, MADV_FREE, MADV_REMOVE, …) would pull memory from under V8 and are refused.
 */
const SAFE_ADVICE = new Set([MADV_NORMAL, MADV_WILLNEED, MADV_HUGEPAGE, MADV_NOHUGEPAGE]);

/** The range of a buffer that `adviseBuffer` advised: `buf.subarray(offset, offset + length)`. */
export interface AdvisedRange {
  offset: number;
  length: number;
}

/**
 * madvise(2) on the largest part of `buf` that starts and ends on a multiple of `align` bytes (a power
 * of two, at least the 4 KiB page; 2 MiB lines the range up with huge pages). Only advice that keeps the
 * memory's content is taken (MADV_NORMAL, MADV_WILLNEED, MADV_HUGEPAGE, MADV_NOHUGEPAGE); anything else is
 * a RangeError. Returns the range advised (length 0 when `buf` holds no aligned range: nothing is
 * called). Throws a SyscallError when the kernel refuses (EINVAL for MADV_HUGEPAGE on a kernel built
 * without transparent huge pages).
 */
export function adviseBuffer(buf: ArrayBufferView, advice: number, align = 4096): AdvisedRange {
  if (!SAFE_ADVICE.has(advice)) {
    throw new RangeError(`adviseBuffer: advice ${advice} may change the buffer's content; not allowed`);
  }
  if (!Number.isInteger(align) || align < 4096 || (align & (align - 1)) !== 0) {
    throw new RangeError(`adviseBuffer: align ${align} is not a power of two of at least 4096`);
  }
  const view = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  if (view.length === 0) return { offset: 0, length: 0 };
  const start = bufferAddress(view);
  const a = BigInt(align);
  const offset = Number((a - (start % a)) % a);
  const length = Math.floor((view.length - Math.min(offset, view.length)) / align) * align;
  if (length === 0) return { offset: 0, length: 0 };
  const madvise = fn('int madvise(uintptr_t addr, size_t length, int advice)');
  if (madvise(start + BigInt(offset), length, advice) !== 0) {
    throw new SyscallError(lastErrno(), 'madvise', undefined, {
      what: `madvise(${length} bytes, advice ${advice})`,
    });
  }
  return { offset, length };
}

/**
 * The address of the first byte of `buf` in this process. For alignment arithmetic only: V8 never moves
 * an ArrayBuffer's backing store, but the address means nothing once the buffer is collected.
 */
export function bufferAddress(buf: ArrayBufferView): bigint {
  // memmove(d, d, 0) copies nothing and returns d: koffi passes a buffer as the pointer to its first byte.
  const memmove = fn('uintptr_t memmove(void *dest, void *src, size_t n)');
  const view = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  return BigInt(memmove(view, view, 0));
}

export type TransparentHugePages = 'always' | 'madvise' | 'never';

/**
 * The host's transparent-huge-page mode (/sys/kernel/mm/transparent_hugepage/enabled, the bracketed
 * word): 'madvise' gives huge pages only where MADV_HUGEPAGE asked for them. Undefined when the kernel
 * has no THP or /sys is not readable.
 */
export function transparentHugePages(): TransparentHugePages | undefined {
  try {
    const text = readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8');
    const mode = /\[(\w+)\]/.exec(text)?.[1];
    return mode === 'always' || mode === 'madvise' || mode === 'never' ? mode : undefined;
  } catch {
    return undefined;
  }
}
