// The entries of a layer computed by comparing a new tree against its lowers (the "naive" diff, for
// uppers the native diff cannot read, or for any directory): the changes of tree-changes.ts, written
// parents first in bytewise order of their tar names; deletes become `.wh.` files, and a directory
// replaced wholesale (none of its lower children left, new ones in their place) is written with one
// opaque marker instead of a whiteout per child.
import { childOf, comparePaths, parentOf } from '../changes/change.js';
import type { LayerFormat } from '../changes/lower-view.js';
import { treeChanges } from '../changes/tree-changes.js';
import { readXattrs } from '../changes/xattrs.js';
import { WHITEOUT_PREFIX } from '../whiteouts.js';
import { lstatEntry } from './entry-stat.js';
import {
  entryFromStat,
  HardlinkTracker,
  type LayerEntry,
  opaqueEntry,
  whiteoutEntry,
} from './layer-entry.js';

export interface NaiveEntriesOptions {
  lowerFormat?: LayerFormat;
  userxattr?: boolean;
}

export function* naiveEntries(
  lowers: readonly string[],
  tree: string,
  options: NaiveEntriesOptions = {},
): Generator<LayerEntry> {
  const userxattr = options.userxattr ?? false;
  const { changes, replacedDirs } = treeChanges(lowers, tree, options);
  const links = new HardlinkTracker();

  // Order by the name each change gets in the tar (a delete of /a/x is written as /a/.wh.x).
  const planned: Array<{ tarPath: string; path: string; del: boolean }> = [];
  for (const { path, kind } of changes) {
    if (kind !== 'delete') planned.push({ tarPath: path, path, del: false });
    else if (!replacedDirs.has(parentOf(path))) {
      const base = path.slice(path.lastIndexOf('/') + 1);
      planned.push({ tarPath: childOf(parentOf(path), WHITEOUT_PREFIX + base), path, del: true });
    }
  }
  planned.sort((a, b) => comparePaths(a.tarPath, b.tarPath));

  const dirMtime = (dirPath: string) => {
    const st = lstatEntry(dirPath === '/' ? tree : tree + dirPath);
    return st ? st.mtime : { sec: 0, nsec: 0 };
  };

  if (replacedDirs.has('/')) {
    const st = lstatEntry(tree);
    if (st) yield opaqueEntry(entryFromStat('', tree, st, undefined)!);
  }
  for (const item of planned) {
    const parent = parentOf(item.path);
    if (item.del) {
      const base = item.path.slice(item.path.lastIndexOf('/') + 1);
      yield whiteoutEntry(parent.slice(1), base, dirMtime(parent));
      continue;
    }
    const abs = tree + item.path;
    const st = lstatEntry(abs);
    if (!st) continue;
    const entry = entryFromStat(item.path.slice(1), abs, st, readXattrs(abs, userxattr).content);
    if (!entry) continue;
    yield links.apply(entry, st);
    if (entry.type === 'directory' && replacedDirs.has(item.path)) yield opaqueEntry(entry);
  }
}
