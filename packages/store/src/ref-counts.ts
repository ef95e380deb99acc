import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { atomicWriteFile } from './atomic-write.js';
import { isErrno } from './errors.js';
import { withFileLock } from './file-lock.js';
import { validateLayerId } from './layer-id.js';
import { isAlive, type ProcessIdentity, selfIdentity } from './process-identity.js';

/** One process's references to a layer. */
export interface Holder extends ProcessIdentity {
  count: number;
}

/**
 * Mount reference counts shared by every process using one store.
 *
 * Per layer: `<dir>/<id>` lists the holders (pid, start time, count) as JSON, and `<dir>/<id>.lock`
 * is flock'ed around every read-modify-write. Holders whose process is gone are dropped on every
 * access, so the count survives a crash (even SIGKILL) of any process: its references simply end.
 */
export class RefCounts {
  constructor(readonly dir: string) {}

  private file(id: string): string {
    validateLayerId(id);
    return join(this.dir, id);
  }

  private async read(id: string): Promise<Holder[]> {
    try {
      const list = JSON.parse(await fsp.readFile(this.file(id), 'utf8')) as Holder[];
      return list.filter((h) => h.count > 0 && isAlive(h));
    } catch (err) {
      if (isErrno(err, 'ENOENT') || err instanceof SyntaxError) return [];
      throw err;
    }
  }

  private async write(id: string, holders: Holder[]): Promise<void> {
    if (holders.length === 0) await fsp.rm(this.file(id), { force: true });
    // Mounts do not survive a reboot, so neither need their counts: no fsync on this hot path.
    else await atomicWriteFile(this.file(id), JSON.stringify(holders), 0o644, { durable: false });
  }

  /** Runs `fn` under the layer's lock with its live holders. */
  async withLock<T>(id: string, fn: (holders: Holder[]) => Promise<T>): Promise<T> {
    await fsp.mkdir(this.dir, { recursive: true });
    return withFileLock(`${this.file(id)}.lock`, async () => fn(await this.read(id)));
  }

  /** Total live references to `id`. */
  async count(id: string): Promise<number> {
    return (await this.read(id)).reduce((n, h) => n + h.count, 0);
  }

  /**
   * Adds a reference for this process. `onFirst` runs (under the lock) when nobody held the layer,
   * e.g. to mount it; if it throws, no reference is taken. Returns the new total.
   */
  async acquire(id: string, onFirst: () => Promise<void>): Promise<number> {
    return this.withLock(id, async (holders) => {
      const total = holders.reduce((n, h) => n + h.count, 0);
      if (total === 0) await onFirst();
      const me = selfIdentity();
      const mine = holders.find((h) => h.pid === me.pid && h.start === me.start);
      if (mine) mine.count++;
      else holders.push({ ...me, count: 1 });
      await this.write(id, holders);
      return total + 1;
    });
  }

  /**
   * Drops one of this process's references (none held: nothing to drop). `onLast` runs (under the
   * lock) when the total reaches zero, e.g. to unmount. Returns the new total.
   */
  async release(id: string, onLast: () => Promise<void>): Promise<number> {
    return this.withLock(id, async (holders) => {
      const me = selfIdentity();
      const mine = holders.find((h) => h.pid === me.pid && h.start === me.start);
      if (mine) mine.count--;
      const live = holders.filter((h) => h.count > 0);
      const total = live.reduce((n, h) => n + h.count, 0);
      if (total === 0) await onLast();
      await this.write(id, live);
      return total;
    });
  }

  /** Forgets every reference to `id` (after the layer is removed). */
  async clear(id: string): Promise<void> {
    await fsp.rm(this.file(id), { force: true });
    await fsp.rm(`${this.file(id)}.lock`, { force: true });
  }
}
