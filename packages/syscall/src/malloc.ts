// glibc's malloc settings (mallopt(3)) and its counters (mallinfo2(3)), for programs that own their
// process. Why @ovl/tar's callers may want them: by default glibc gives freed memory back to the kernel as
// soon as 128 KiB lie free at the top of an arena, and the next allocation takes it back page by page,
// one fault each (13–15 µs a fault on the VM these packages are measured on). V8's compiler threads free
// their zones that way after every compile, and a layer apply in a fresh process paid ~3,000 such faults
// on a root filesystem — 5–7% of its time. glibc raises these thresholds by itself once the process
// has freed a big block; setting them up front only starts there.
//
// Process-wide: a library must not call this behind its caller's back; see @ovl/tar's tuneProcess().
import koffi from 'koffi';
import { fn } from './libc.js';

/** mallopt parameters (malloc.h; the same numbers on every glibc architecture). */
export const M_TRIM_THRESHOLD = -1;
export const M_TOP_PAD = -2;
export const M_MMAP_THRESHOLD = -3;
export const M_MMAP_MAX = -4;
export const M_ARENA_MAX = -8;

/**
 * mallopt(3): sets one of glibc malloc's parameters for the whole process. Returns false where glibc
 * refuses the value (M_MXFAST, 1, above 160 bytes, for one). Setting M_TRIM_THRESHOLD,
 * M_TOP_PAD, M_MMAP_THRESHOLD or M_MMAP_MAX also stops glibc from adjusting the trim and mmap thresholds
 * by itself from then on. `value` must be an integer that fits a C int.
 */
export function mallopt(param: number, value: number): boolean {
  if (!Number.isInteger(param) || !Number.isInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) {
    throw new RangeError(`mallopt: parameter ${param} / value ${value} must be integers that fit a C int`);
  }
  return fn('int mallopt(int, int)')(param, value) === 1;
}

/**
 * malloc_trim(3): gives the free memory at the top of the heap (and whole free pages inside the arenas)
 * back to the kernel now, keeping `pad` bytes at the top. For a process that raised the trim threshold
 * and is done with a big job. Returns whether any memory was released.
 */
export function mallocTrim(pad = 0): boolean {
  if (!Number.isSafeInteger(pad) || pad < 0) throw new RangeError(`mallocTrim: pad ${pad} is not a size`);
  return fn('int malloc_trim(size_t)')(pad) === 1;
}

/** The counters of mallinfo2(3) that say where the main arena's memory is, in bytes. */
export interface MallocStats {
  /** Memory the main arena holds from the kernel (brk). */
  arena: number;
  /** In use by the program. */
  inUse: number;
  /** Free inside the arena. */
  free: number;
  /** Free at the top of the arena: what a trim would give back to the kernel. */
  releasable: number;
  /** Held in mmap()ed blocks (allocations above the mmap threshold). */
  mmapped: number;
}

// struct mallinfo2: ten size_t fields, in this order.
const FIELDS = [
  'arena',
  'ordblks',
  'smblks',
  'hblks',
  'hblkhd',
  'usmblks',
  'fsmblks',
  'uordblks',
  'fordblks',
  'keepcost',
];
let structDeclared = false;

/** mallinfo2(3) of glibc 2.33 and later: the main arena's memory (threads' arenas are not counted). */
export function mallocStats(): MallocStats {
  if (!structDeclared) {
    koffi.struct('ovl_mallinfo2', Object.fromEntries(FIELDS.map((f) => [f, 'size_t'])));
    structDeclared = true;
  }
  const info = fn('ovl_mallinfo2 mallinfo2(void)')() as unknown as Record<string, number | bigint>;
  const n = (k: string) => Number(info[k]);
  return {
    arena: n('arena'),
    inUse: n('uordblks'),
    free: n('fordblks'),
    releasable: n('keepcost'),
    mmapped: n('hblkhd'),
  };
}
