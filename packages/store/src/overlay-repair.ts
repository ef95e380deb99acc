import { promises as fsp } from 'node:fs';
import { join, relative } from 'node:path';
import { atomicSymlink } from './atomic-write.js';
import { ownerIsAlive } from './hidden-names.js';
import { isValidLayerId } from './layer-id.js';
import { isLinkId } from './link-id.js';
import { mountsUnder } from './mounts-under.js';
import type { OverlayStore } from './overlay-store.js';
import { removeLeftovers, removeOutOfSight } from './remove-tree.js';

/** What a repair pass found and did. */
export interface RepairReport {
  /** hidden `.tmp-*` / `.removing-*` entries of dead processes, deleted */
  leftovers: string[];
  /** layer directories that were not whole (no valid `link` file or no `diff`), deleted */
  halfLayers: string[];
  /** layers whose `l/` link was missing or wrong, recreated */
  relinked: string[];
  /** `l/` entries that named no layer, deleted */
  danglingLinks: string[];
  /** mounts inside the store that no live process holds, unmounted */
  unmounted: string[];
  /** stale mounts left in place because no `unmount` function was given */
  staleMounts: string[];
}

async function readLink(dir: string): Promise<string | undefined> {
  try {
    const link = (await fsp.readFile(join(dir, 'link'), 'utf8')).trim();
    await fsp.access(join(dir, 'diff'));
    return isLinkId(link) ? link : undefined;
  } catch {
    return undefined;
  }
}

/** A crash inside replaceDiff: roll back to `diff.old` when `diff` is missing, else drop it. */
async function finishDiffSwap(dir: string): Promise<void> {
  const old = join(dir, 'diff.old');
  if (
    !(await fsp.access(old).then(
      () => true,
      () => false,
    ))
  )
    return;
  if (
    await fsp.access(join(dir, 'diff')).then(
      () => true,
      () => false,
    )
  )
    await fsp.rm(old, { recursive: true });
  else await fsp.rename(old, join(dir, 'diff'));
}

/**
 * Brings a store back to a consistent state after crashes: finishes interrupted removals and
 * drops interrupted creations, deletes layer dirs that are not whole, recreates `l/` links from each
 * layer's `link` file, deletes `l/` links to nothing, and clears mounts nobody holds any more.
 * Safe to run while other processes use the store: it only touches entries of dead processes and
 * mounts with no live reference (checked under the layer's reference lock).
 */
export async function repairOverlayStore(store: OverlayStore): Promise<RepairReport> {
  const home = store.home;
  const report: RepairReport = {
    leftovers: [],
    halfLayers: [],
    relinked: [],
    danglingLinks: [],
    unmounted: [],
    staleMounts: [],
  };

  // Stale mounts first, so nothing below deletes through a mount point.
  for (const point of mountsUnder(home)) {
    // the home itself may be a mount point (its own xfs with prjquota, a tmpfs): that is not stale
    if (point === home) continue;
    const id = relative(home, point).split('/')[0] ?? '';
    const clear = async () => {
      // Checked again under the lock: another process may have put (unmounted) it since we listed.
      if (!mountsUnder(home).includes(point)) return;
      if (!store.unmount) {
        report.staleMounts.push(point);
        return;
      }
      await store.unmount(point);
      report.unmounted.push(point);
    };
    if (isValidLayerId(id)) await store.refs.withLock(id, async (h) => (h.length > 0 ? undefined : clear()));
    else if (!ownerIsAlive(id)) await clear(); // e.g. a feature probe of a live process: not ours
  }

  report.leftovers.push(...(await removeLeftovers(home)));
  report.leftovers.push(...(await removeLeftovers(join(home, 'l'))));
  report.leftovers.push(...(await removeLeftovers(store.refs.dir)));

  const links = new Map<string, string>(); // link → id
  for (const name of await fsp.readdir(home)) {
    if (!isValidLayerId(name)) continue;
    const dir = join(home, name);
    if (!(await fsp.stat(dir)).isDirectory()) continue;
    await finishDiffSwap(dir);
    const link = await readLink(dir);
    if (link === undefined) {
      if (mountsUnder(dir).length > 0) continue; // still mounted and held: not ours to delete
      await removeOutOfSight(dir);
      report.halfLayers.push(name);
      continue;
    }
    links.set(link, name);
    const want = `../${name}/diff`;
    const have = await fsp.readlink(join(home, 'l', link)).catch(() => undefined);
    if (have !== want) {
      await atomicSymlink(want, join(home, 'l', link));
      report.relinked.push(name);
    }
  }

  for (const name of await fsp.readdir(join(home, 'l'))) {
    if (name.startsWith('.')) continue;
    if (!links.has(name)) {
      // A layer created by another process since we listed the home dir is not dangling.
      const target = await fsp.readlink(join(home, 'l', name)).catch(() => '');
      const id = /^\.\.\/([^/]+)\/diff$/.exec(target)?.[1];
      if (id !== undefined && isValidLayerId(id) && (await readLink(join(home, id))) === name) continue;
      await fsp.rm(join(home, 'l', name), { force: true });
      report.danglingLinks.push(name);
    }
  }
  return report;
}
