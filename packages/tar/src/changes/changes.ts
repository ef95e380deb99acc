import { type BigIntStats, lstatSync } from 'node:fs';
import type { Change } from './change.js';
import { assertSourceDir } from './fs-entry.js';
import { layerChanges } from './layer-changes.js';
import type { LayerFormat } from './lower-view.js';
import { treeChanges } from './tree-changes.js';

export type ChangesFormat = 'overlay' | 'aufs' | 'naive';

export interface ChangesOptions {
  /**
   * How to read `upper`: 'overlay' (default) — an overlayfs upper dir (0/0 char device whiteouts, opaque
   * xattr); 'aufs' — an aufs branch (`.wh.` files); 'naive' — a complete new tree (e.g. a merged mount)
   * compared entry by entry against the lowers.
   */
  format?: ChangesFormat;
  /** Opaque (and private) overlay xattrs live in `user.overlay.*` (the `userxattr` mount option). */
  userxattr?: boolean;
  /** With 'naive': how whiteouts are written inside the lowers (default 'overlay'). */
  lowerFormat?: LayerFormat;
}

/**
 * The changes an upper layer makes over its lower layers (`lowers` top first), sorted by path with
 * parents first, as Docker's `archive.Changes` / `OverlayChanges` / `ChangesDirs` report them.
 * The walk uses synchronous file-system calls (see fs-entry.ts); it runs before the promise settles.
 */
export async function changes(
  lowers: readonly string[],
  upper: string,
  options: ChangesOptions = {},
): Promise<Change[]> {
  const format = options.format ?? 'overlay';
  assertSourceDir(upper, format === 'naive' ? 'new tree' : 'upper');
  for (const lower of lowers) assertSourceDir(lower, 'lower');
  if (format === 'naive') {
    return treeChanges(lowers, upper, { lowerFormat: options.lowerFormat, userxattr: options.userxattr })
      .changes;
  }
  return layerChanges(lowers, upper, { format, userxattr: options.userxattr });
}

/**
 * Bytes the added and modified entries take in `upper`, as Docker's `ChangesSize`: the size of every
 * non-directory (a symlink counts its target's length), each hardlinked inode once. Without `list`, the
 * changes are computed first with `options`.
 */
export async function changesSize(
  lowers: readonly string[],
  upper: string,
  list?: readonly Change[],
  options: ChangesOptions = {},
): Promise<number> {
  const all = list ?? (await changes(lowers, upper, options));
  const seen = new Set<bigint>();
  let size = 0;
  for (const change of all) {
    if (change.kind === 'delete') continue;
    let st: BigIntStats;
    try {
      st = lstatSync(upper + change.path, { bigint: true });
    } catch {
      continue; // vanished since the list was made, as Docker logs and skips it
    }
    if (st.isDirectory()) continue;
    if (st.nlink > 1n) {
      if (seen.has(st.ino)) continue;
      seen.add(st.ino);
    }
    size += Number(st.size);
  }
  return size;
}
