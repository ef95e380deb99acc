/**
 * Settings of the whole process that make applying and diffing layers faster, for programs that own
 * their process (the `ovl` command, a worker process of a build tool). `apply` and `diff` never change
 * them themselves: they reach past this package into everything else the process runs.
 *
 * Measured on the 2-core VM these packages are benchmarked on, a fresh process each round (medians of 7
 * alternating rounds, tmpfs): a root filesystem layer 0.46 → 0.43 s, 100,000 small files 1.54 → 1.43 s,
 * the same rootfs gzip'd 1.06 → 1.00 s; zstd and 4 × 256 MiB unchanged. Peak RSS 5–9 MB higher.
 */
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { isMainThread } from 'node:worker_threads';
import { gettid, M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, mallopt, setThreadNice, threadIds } from '@ovl/syscall';

/**
 * glibc returns memory to the kernel once 128 KiB lie free at an arena's top, and faults it back in page
 * by page (13–15 µs a fault here): V8's compiler threads free their zones after every compile, ~3,000
 * faults per rootfs apply. These are values glibc moves to by itself once the process has freed an 8 MiB
 * block; set from the start, they hold from the first compile. The mmap threshold must be set with the
 * trim threshold: setting either stops glibc's own adjustment, and left at 128 KiB every 1–4 MiB read
 * buffer would be a fresh mapping (the zstd apply was 15% slower with the trim threshold alone).
 */
const TRIM_THRESHOLD = 16 << 20;
const MMAP_THRESHOLD = 8 << 20;

/**
 * V8 scavenges the young generation on helper threads and waits for them. With two cores and the writer
 * threads busy, those waits stall: in the 100,000-file apply 66 of 256 scavenges took over 1 ms (234 ms
 * together); scavenging on the calling thread alone took 84 ms for all of them. With more cores the
 * helpers find one free, so the flag is only set on machines with at most two.
 */
const SMALL_MACHINE_CPUS = 2;

/**
 * The nice value given to the threads the process already runs besides the calling one — V8's compiler
 * and GC helpers, started with Node — on machines with at most two CPUs. Every job the main thread
 * posts there wakes a helper, and on two busy cores the woken helper preempted the main thread (~85
 * times in a rootfs apply, `perf` sched_switch); niced, it waits for an idle core instead. Rootfs apply
 * 0.379 → 0.364 s tuned and 0.399 → 0.384 s untuned (medians of 9 alternating rounds); 100,000 small
 * files the same (1.428 s either way, 7), where nice 19 was 8% slower (the scavenges wait for those
 * helpers). Threads started later (libuv's pool, the writer threads) inherit the caller's nice value.
 */
const HELPER_NICE = 10;

export interface ProcessTuning {
  /** Whether glibc took the malloc thresholds (false on another libc, or when glibc refused them). */
  mallocThresholds: boolean;
  /** The V8 flags set (none where the machine has more than two CPUs). */
  v8Flags: string[];
  /**
   * How many of the process's other threads were given nice HELPER_NICE (10): 0 where the machine has
   * more than two CPUs, or when not called on the main thread.
   */
  helperThreads: number;
}

let done: ProcessTuning | undefined;

/**
 * Tunes this process for layer work: glibc malloc's trim and mmap thresholds (mallopt) and, on machines
 * with at most two CPUs, `--no-parallel-scavenge` for V8 and nice 10 for the threads already running
 * beside the calling one (V8's helpers). Call it once, early, on the main thread of a process of your
 * own; later calls return the first call's result. Never throws: what cannot be set is reported as not set.
 */
export function tuneProcess(): ProcessTuning {
  if (done) return done;
  let mallocThresholds = false;
  try {
    mallocThresholds = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) && mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD);
  } catch {
    // No glibc (koffi cannot load libc.so.6, or it has no mallopt): nothing to tune there.
  }
  const small = availableParallelism() <= SMALL_MACHINE_CPUS;
  const v8Flags = small ? ['--no-parallel-scavenge'] : [];
  for (const flag of v8Flags) setFlagsFromString(flag);
  done = { mallocThresholds, v8Flags, helperThreads: small && isMainThread ? niceHelpers() : 0 };
  return done;
}

/** Gives every thread of the process but the calling one nice HELPER_NICE; returns how many took it. */
function niceHelpers(): number {
  let n = 0;
  try {
    const me = gettid();
    for (const tid of threadIds()) {
      if (tid === me) continue;
      try {
        setThreadNice(tid, HELPER_NICE);
        n++;
      } catch {
        // The thread ended since the listing (ESRCH): nothing to tune.
      }
    }
  } catch {
    // No /proc, or no syscall number for this architecture: the helpers keep their priority.
  }
  return n;
}
