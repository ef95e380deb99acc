import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fsyncDir } from './atomic-write.js';
import { isErrno } from './errors.js';
import { hiddenName, ownerIsAlive, REMOVING_PREFIX, STAGING_PREFIX } from './hidden-names.js';

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
