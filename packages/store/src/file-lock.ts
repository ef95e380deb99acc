import { closeSync, openSync } from 'node:fs';
import { flock, LOCK_EX, LOCK_NB, LOCK_UN } from '@ovl/syscall';
import { StoreError } from './errors.js';

// flock(2) (through @ovl/syscall) gives cross-process mutual exclusion that releases itself when the
// holder dies, even by SIGKILL — what reference counts shared between processes need. LOCK_NB keeps
// the event loop free: we poll with a short back-off instead of blocking the thread.

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
  const tryLock = () => {
    try {
      return flock(fd, LOCK_EX | LOCK_NB, path);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  };
  while (!tryLock()) {
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
      flock(fd, LOCK_UN, path);
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
