import { constants, promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { hiddenName, STAGING_PREFIX } from './hidden-names.js';

/** fsync a directory so that renames and creations inside it survive a power loss. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes `data` to `path` so that a reader (or a crash) sees either the old content or the new,
 * never a part: write a hidden temp file beside it, fsync it, rename it over `path`, fsync the dir.
 * `durable: false` skips the two fsyncs: still atomic for readers, but not across a power loss —
 * right for state that a reboot voids anyway, like mount reference counts.
 */
export async function atomicWriteFile(
  path: string,
  data: string | Uint8Array,
  mode = 0o644,
  opts: { durable?: boolean } = {},
): Promise<void> {
  const durable = opts.durable !== false;
  const dir = dirname(path);
  const tmp = join(dir, hiddenName(STAGING_PREFIX, basename(path)));
  const fh = await fsp.open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    if (durable) await fh.sync();
  } catch (err) {
    await fh.close();
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await fsp.rename(tmp, path);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  if (durable) await fsyncDir(dir);
}

/** Replaces (or creates) a symlink atomically: a temp symlink renamed over the old one. */
export async function atomicSymlink(target: string, path: string): Promise<void> {
  const tmp = join(dirname(path), hiddenName(STAGING_PREFIX, basename(path)));
  await fsp.symlink(target, tmp);
  try {
    await fsp.rename(tmp, path);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}
