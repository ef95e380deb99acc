import { spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { hiddenName, STAGING_PREFIX } from '@ovl/store';
import { apply, type Change, changesSize, changes as tarChanges, diff as tarDiff } from '@ovl/tar';
import type { OverlayDriver, ResolvedLayer } from './driver.js';
import { OverlayError } from './errors.js';
import { withCleanup } from './layer-tar.js';

/** Native diffs read the upper dir alone: only when the kernel's are correct and the parent is the real one. */
async function useNative(d: OverlayDriver, r: ResolvedLayer, parent: string | undefined): Promise<boolean> {
  if (r.layer.lowers.length === 0) return parent === undefined; // a base layer's diff is its whole tree
  if (!d.features.nativeDiff) return false;
  return parent === undefined || parent === (await d.parentOf(r));
}

/** The diff dirs of `parent` and its lowers, top first (the tree the naive diff compares against). */
async function parentDirs(d: OverlayDriver, parent: string | undefined): Promise<string[]> {
  if (parent === undefined) return [];
  const p = await d.resolve(parent);
  return [p.layer.diff, ...(await d.lowerDirs(p))];
}

/** A layer tar of `id` against `parent` (default: its own parent). */
export function diff(d: OverlayDriver, id: string, parent?: string): Readable {
  const out = new PassThrough();
  (async () => {
    const r = await d.resolve(id);
    let src: Readable;
    if (await useNative(d, r, parent)) {
      src = tarDiff({
        upper: r.layer.diff,
        format: 'overlay',
        lowers: await d.lowerDirs(r),
        userxattr: d.options.userxattr ?? false,
      });
    } else {
      const lowers = await parentDirs(d, parent ?? (await d.parentOf(r)));
      const tree = await d.get(id, { readOnly: true });
      try {
        src = withCleanup(tarDiff({ lowers, tree }), () => d.put(id));
      } catch (err) {
        await d.put(id);
        throw err;
      }
    }
    src.on('error', (err) => out.destroy(err));
    src.pipe(out);
  })().catch((err) => out.destroy(err));
  return out;
}

/** What changed in `id` against `parent` (default: its own parent). */
export async function changes(d: OverlayDriver, id: string, parent?: string): Promise<Change[]> {
  const r = await d.resolve(id);
  if (await useNative(d, r, parent)) {
    return tarChanges(await d.lowerDirs(r), r.layer.diff, {
      format: 'overlay',
      userxattr: d.options.userxattr ?? false,
    });
  }
  const lowers = await parentDirs(d, parent ?? (await d.parentOf(r)));
  const tree = await d.get(id, { readOnly: true });
  try {
    return await tarChanges(lowers, tree, { format: 'naive', userxattr: d.options.userxattr ?? false });
  } finally {
    await d.put(id);
  }
}

/** Bytes of the added and modified files of `id` against `parent`, as Docker's ChangesSize. */
export async function diffSize(d: OverlayDriver, id: string, parent?: string): Promise<number> {
  const r = await d.resolve(id);
  if (await useNative(d, r, parent)) {
    return changesSize(await d.lowerDirs(r), r.layer.diff, undefined, {
      format: 'overlay',
      userxattr: d.options.userxattr ?? false,
    });
  }
  const lowers = await parentDirs(d, parent ?? (await d.parentOf(r)));
  const tree = await d.get(id, { readOnly: true });
  try {
    const list = await tarChanges(lowers, tree, { format: 'naive' });
    return await changesSize(lowers, tree, list, { format: 'naive' });
  } finally {
    await d.put(id);
  }
}

/**
 * Applies a layer tar to `id`'s diff dir. The tar goes into a hidden staging dir in the store (a copy
 * of the current diff when it is not empty) which then replaces the diff, so a failure, or a crash,
 * leaves the layer as it was. Returns the bytes of the (decompressed) tar.
 */
export async function applyDiff(
  d: OverlayDriver,
  id: string,
  parent: string | undefined,
  layer: Readable | AsyncIterable<Uint8Array>,
): Promise<number> {
  const r = await d.resolve(id);
  if (r.readOnly) {
    throw new OverlayError(
      'ERR_OVL_READ_ONLY_LAYER',
      `layer ${id} lives in the read-only image store ${r.store.home}`,
      { path: id },
    );
  }
  if (parent !== undefined && parent !== (await d.parentOf(r))) {
    throw new OverlayError('ERR_OVL_NOT_SUPPORTED', `applyDiff on ${id}: ${parent} is not its parent`, {
      path: id,
    });
  }
  const staging = join(d.store.home, hiddenName(STAGING_PREFIX, `${id}-apply`));
  const st = await fsp.stat(r.layer.diff);
  await fsp.mkdir(staging);
  try {
    d.inheritProject(id, staging); // a limited layer's files stay counted against its quota
    if ((await fsp.readdir(r.layer.diff)).length > 0) {
      const cp = spawnSync('cp', ['-a', '--reflink=auto', `${r.layer.diff}/.`, staging], {
        encoding: 'utf8',
      });
      if (cp.status !== 0) throw new Error(`copying ${r.layer.diff} failed: ${cp.stderr}`);
    } else {
      await fsp.chown(staging, st.uid, st.gid);
      await fsp.chmod(staging, st.mode & 0o7777);
    }
    const result = await apply(layer, staging, {
      format: 'overlay',
      userxattr: d.options.userxattr ?? false,
    });
    await d.store.replaceDiff(id, staging);
    return result.bytes;
  } catch (err) {
    await fsp.rm(staging, { recursive: true, force: true });
    throw err;
  }
}
