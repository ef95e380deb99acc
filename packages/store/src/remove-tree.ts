import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fsyncDir } from './atomic-write.js';
import { isErrno } from './errors.js';
import { isAlive, selfIdentity } from './process-identity.js';

/** Prefix of entries being deleted; repair finishes deleting anything that carries it. */
export const REMOVING_PREFIX = '.removing-';
/** Prefix of entries being built; repair deletes anything that carries it. */
export const STAGING_PREFIX = '.tmp-';

/**
 * `-<pid>_<start>_<random>`: names the process that made a hidden entry, so that a repair pass run
 * by another process leaves the entries of a live process alone and deletes only those of the dead.
 */
export function ownerSuffix(): string {
  const me = selfIdentity();
  return `-${me.pid}_${me.start}_${randomBytes(4).toString('hex')}`;
}

/** A hidden name for `name` with the given prefix and this process as its owner. */
export function hiddenName(prefix: string, name: string): string {
  return `${prefix}${name}${ownerSuffix()}`;
}

function ownerIsAlive(name: string): boolean {
  const m = /-(\d+)_(\d+)_[0-9a-f]+$/.exec(name);
  if (!m) return false;
  return isAlive({ pid: Number(m[1]), start: Number(m[2]) });
}

/**
 * Deletes a directory so that a crash never leaves something that looks whole: first an atomic
 * rename to a hidden `.removing-*` name in the same directory (the layer is gone from that instant),
 * then the slow recursive delete. Returns false when `path` did not exist.
 */
export async function removeOutOfSight(path: string): Promise<boolean> {
  const hidden = join(dirname(path), hiddenName(REMOVING_PREFIX, basename(path)));
  try {
    await fsp.rename(path, hidden);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    throw err;
  }
  await fsyncDir(dirname(path));
  await fsp.rm(hidden, { recursive: true, force: true });
  return true;
}

/**
 * Deletes the leftovers of interrupted creations and removals in `dir` (those whose owner process
 * is gone); returns their names.
 */
export async function removeLeftovers(dir: string): Promise<string[]> {
  const gone: string[] = [];
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return gone;
    throw err;
  }
  for (const name of names) {
    if ((name.startsWith(REMOVING_PREFIX) || name.startsWith(STAGING_PREFIX)) && !ownerIsAlive(name)) {
      await fsp.rm(join(dir, name), { recursive: true, force: true });
      gone.push(name);
    }
  }
  return gone;
}
