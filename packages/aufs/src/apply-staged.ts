import { chmod, lstat, mkdir, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { apply } from '@ovl/tar';

/**
 * Applies a layer tar in aufs format (whiteouts stay `.wh.` files) into `diffDir` through `staging`, a fresh
 * dir on the same file system: a failed or aborted apply deletes the staging dir and leaves `diffDir` as it
 * was. An empty `diffDir` (the usual case: a new layer) is replaced by one rename; otherwise the staged
 * entries are moved in one by one, directories merged, other entries replacing what had their name.
 */
export async function applyStaged(
  layer: Readable | AsyncIterable<Uint8Array>,
  diffDir: string,
  staging: string,
): Promise<void> {
  await mkdir(staging, { mode: 0o755 });
  await chmod(staging, 0o755); // not the umask's idea of a layer root
  try {
    await apply(layer, staging, { format: 'aufs' });
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
  if ((await readdir(diffDir)).length === 0) {
    // the staging dir carries the layer's root metadata (mode, owner, times) when the tar had a "./" entry
    await rmdir(diffDir);
    await rename(staging, diffDir);
    return;
  }
  await mergeInto(staging, diffDir);
  await rm(staging, { recursive: true, force: true });
}

async function mergeInto(from: string, to: string): Promise<void> {
  for (const name of await readdir(from)) {
    const src = join(from, name);
    const dst = join(to, name);
    const [s, d] = await Promise.all([lstat(src), lstat(dst).catch(() => undefined)]);
    if (s.isDirectory() && d?.isDirectory()) {
      await mergeInto(src, dst);
      continue;
    }
    if (d) await rm(dst, { recursive: true, force: true });
    await rename(src, dst);
  }
}
