// The naive comparison of a new tree (a container's merged mount, or any directory) against its lowers,
// with the rules of Docker's archive.ChangesDirs: an entry is modified when its type or mode, owner,
// device number, xattrs or symlink target differ, or — for non-directories only — its size or mtime
// (a directory's size and mtime say nothing useful, moby#9874); content is not compared, as in Docker.
// A directory with changes inside is reported modified too, so a layer made from the list restores its
// permissions.
import { type BigIntStats, readlinkSync } from 'node:fs';
import { type Change, type ChangeKind, childOf, compareNames, sortChanges } from './change.js';
import { lstatMaybe, readNames } from './fs-entry.js';
import { type LayerFormat, type LowerHit, LowerView } from './lower-view.js';
import { readXattrs, sameXattrs } from './xattrs.js';

export interface TreeChangesOptions {
  /** How whiteouts are written inside the lowers (default 'overlay'). */
  lowerFormat?: LayerFormat;
  userxattr?: boolean;
}

export interface TreeChanges {
  changes: Change[];
  /** Directories (paths as in changes) whose lower children were all replaced: a diff marks them opaque. */
  replacedDirs: Set<string>;
}

/** True when two entries differ in what Docker's statDifferent looks at. */
export function statDifferent(a: BigIntStats, b: BigIntStats): boolean {
  if (a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid || a.rdev !== b.rdev) return true;
  if (a.isDirectory()) return false;
  return a.mtimeNs !== b.mtimeNs || a.size !== b.size;
}

export function treeChanges(
  lowers: readonly string[],
  tree: string,
  options: TreeChangesOptions = {},
): TreeChanges {
  const view = new LowerView(lowers, options.lowerFormat ?? 'overlay', options.userxattr ?? false);
  const userxattr = options.userxattr ?? false;
  const out: Array<Change & { keep: boolean }> = [];
  let kept = 0; // changes recorded so far (placeholders of unchanged directories not counted)
  const push = (path: string, kind: ChangeKind) => {
    out.push({ path, kind, keep: true });
    kept++;
  };
  const replacedDirs = new Set<string>();

  const changed = (oldHit: LowerHit, abs: string, st: BigIntStats): boolean => {
    if (statDifferent(oldHit.stat, st)) return true;
    if (st.isSymbolicLink() && readlinkSync(oldHit.path) !== readlinkSync(abs)) return true;
    return !sameXattrs(readXattrs(oldHit.path, userxattr).content, readXattrs(abs, userxattr).content);
  };

  const visit = (
    abs: string,
    rel: string,
    path: string,
    old: Map<string, LowerHit> | undefined,
    self: boolean,
  ) => {
    const keptBefore = kept;
    // A placeholder for this directory, kept only if something inside changes and it is not recorded.
    const slot = { path, kind: 'modify' as ChangeKind, keep: false };
    if (!self && path !== '/') out.push(slot);
    const names = (readNames(abs) ?? []).sort(compareNames);
    const gone = new Set(old?.keys());
    for (const name of names) {
      const childAbs = `${abs}/${name}`;
      const st = lstatMaybe(childAbs);
      if (!st) continue;
      const childPath = childOf(path, name);
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const oldHit = old?.get(name);
      let recorded = false;
      if (!oldHit) {
        push(childPath, 'add');
        recorded = true;
      } else {
        gone.delete(name);
        if (changed(oldHit, childAbs, st)) {
          push(childPath, 'modify');
          recorded = true;
        }
      }
      if (st.isDirectory()) {
        const oldKids = oldHit?.stat.isDirectory() ? view.children(childRel) : undefined;
        visit(childAbs, childRel, childPath, oldKids, recorded);
      }
    }
    for (const name of gone) push(childOf(path, name), 'delete');
    // Replaced wholesale: none of the lower children survive and new ones took their place. (A directory
    // merely emptied keeps one whiteout per child, as Docker writes it.)
    if (old && old.size > 0 && gone.size === old.size && names.length > 0) replacedDirs.add(path);
    if (kept > keptBefore && !self && path !== '/') {
      slot.keep = true;
      kept++;
    }
  };

  visit(tree, '', '/', view.children(''), true);
  const changes = sortChanges(out.filter((c) => c.keep).map(({ path, kind }) => ({ path, kind })));
  return { changes, replacedDirs };
}
