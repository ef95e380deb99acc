// The one place that talks to koffi. Functions are bound lazily, on first use, so that importing
// the package costs nothing until a call is made (and so that type-only consumers never load libc).
import koffi from 'koffi';

type Fn = (...args: unknown[]) => number;

let lib: ReturnType<typeof koffi.load> | undefined;
const bound = new Map<string, Fn>();

function libc(): ReturnType<typeof koffi.load> {
  lib ??= koffi.load('libc.so.6');
  return lib;
}

/** A libc function from its C prototype, bound once and cached. */
export function fn(prototype: string): Fn {
  let f = bound.get(prototype);
  if (!f) {
    f = libc().func(prototype) as unknown as Fn;
    bound.set(prototype, f);
  }
  return f;
}

/** errno as koffi captured it right after the last foreign call on this thread. */
export function lastErrno(): number {
  return koffi.errno();
}

/**
 * syscall(2) for calls that glibc wraps late or not at all (the new mount API: glibc 2.36+).
 * The numbers of these calls are the same on every architecture (they were added after the
 * syscall tables were unified), so one table serves x64 and arm64.
 */
export function rawSyscall(nr: number, ...typedArgs: unknown[]): number {
  return fn('long syscall(long, ...)')(nr, ...typedArgs);
}

export const SYS = {
  open_tree: 428,
  move_mount: 429,
  fsopen: 430,
  fsconfig: 431,
  fsmount: 432,
  fspick: 433,
} as const;
