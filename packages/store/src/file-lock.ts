import { closeSync, openSync } from 'node:fs';
import koffi from 'koffi';
import { StoreError } from './errors.js';

// flock(2) is the one primitive that gives cross-process mutual exclusion *and* releases itself
// when the holder dies (even by SIGKILL), which is what reference counts shared between processes
// need. Node has no binding for it, so we call libc through koffi. LOCK_NB keeps the event loop
// free: we poll with a short back-off instead of blocking the thread.
const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;

let flockFn: ((fd: number, op: number) => number) | undefined;
function flock(fd: number, op: number): number {
  if (!flockFn) {
    const libc = koffi.load('libc.so.6');
    flockFn = libc.func('int flock(int fd, int op)') as (fd: number, op: number) => number;
  }
  return flockFn(fd, op);
}

/** A held lock; release it exactly once. */
export interface FileLock {
  readonly path: string;
  release(): void;
}

/**
 * Takes an exclusive flock on `path` (created if missing), waiting up to `timeoutMs`.
 * Locks are per open file description, so two holders in one process also exclude each other.
 */
export async function lockFile(path: string, timeoutMs = 30_000): Promise<FileLock> {
  const fd = openSync(path, 'a', 0o600);
  const deadline = Date.now() + timeoutMs;
  let wait = 1;
  while (flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    if (Date.now() > deadline) {
      closeSync(fd);
      throw new StoreError(
        'ERR_OVL_LOCK_TIMEOUT',
        `could not lock ${path} within ${timeoutMs} ms; another process holds it (see lsof ${path})`,
        { path },
      );
    }
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(wait * 2, 25);
  }
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      flock(fd, LOCK_UN);
      closeSync(fd);
    },
  };
}

/** Runs `fn` while holding the lock on `path`. */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, timeoutMs?: number): Promise<T> {
  const lock = await lockFile(path, timeoutMs);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
