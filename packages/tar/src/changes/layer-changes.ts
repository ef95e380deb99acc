// Changes of an upper layer dir against its lowers, as Docker's archive.Changes (aufs) and
// archive.OverlayChanges (overlay): every entry of the upper dir is an add or a modify (by whether
// something lies below), whiteouts are deletes, and an unchanged directory that is only there to hold
// changed children is left out — unless an add or delete happened directly inside it.
import { type BigIntStats, closeSync, constants, openSync } from 'node:fs';
import { lgetxattr, llistxattr } from '@ovl/syscall';
import { type EntryStat, isDirectory, isWhiteoutEntryStat, lstatEntryAt } from '../diff/entry-stat.js';
import {
  OVERLAY_USER_XATTR_PREFIX,
  OVERLAY_XATTR_PREFIX,
  opaqueXattrName,
  WHITEOUT_META_PREFIX,
  WHITEOUT_OPAQUE,
  WHITEOUT_PREFIX,
} from '../whiteouts.js';
import { type Change, type ChangeKind, childOf, parentOf, sortChanges } from './change.js';
import { mtimeOf, readNames } from './fs-entry.js';
import { type LayerFormat, LowerView } from './lower-view.js';
import { assertNativeUpper } from './unsupported-upper.js';
import { isOpaqueValue } from './xattrs.js';

export interface LayerChangesOptions {
  format: LayerFormat;
  userxattr?: boolean;
}

/**
 * Directory metadata equal in the fields Docker compares (size left out: it is file-system specific):
 * an upper entry (statx) against what lies below (lstat).
 */
export function sameDirMeta(a: EntryStat, b: BigIntStats): boolean {
  if (a.mode !== Number(b.mode) || a.uid !== Number(b.uid) || a.gid !== Number(b.gid)) return false;
  const m = mtimeOf(b);
  return a.mtime.sec === m.sec && a.mtime.nsec === m.nsec;
}

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** Synchronous walk of the upper dir; see changes() for the public, documented entry. */
export function layerChanges(
  lowers: readonly string[],
  upper: string,
  options: LayerChangesOptions,
): Change[] {
  const { format } = options;
  const userxattr = options.userxattr ?? false;
  const view = new LowerView(lowers, format, userxattr);
  const found = new Map<string, ChangeKind>();
  const touchedParents = new Set<string>();
  const record = (path: string, kind: ChangeKind) => {
    found.set(path, kind);
    if (kind !== 'modify') touchedParents.add(parentOf(path));
  };

  // Upper entries are stat-ed with statx relative to their open directory (no BigIntStats, no lookup of
  // the parents): on 100,000 small files lstat (bigint) by full path was half of the walk.
  const walk = (dir: string, rel: string, path: string) => {
    let dirfd = -1;
    try {
      dirfd = openSync(dir, DIR_FLAGS);
    } catch {} // then by full path (a directory that vanished reads as empty below)
    try {
      walkIn(dir, rel, path, dirfd);
    } finally {
      if (dirfd >= 0) closeSync(dirfd);
    }
  };

  const walkIn = (dir: string, rel: string, path: string, dirfd: number) => {
    const names = readNames(dir) ?? [];
    const present = new Set(names);
    if (format === 'aufs' && present.has(WHITEOUT_OPAQUE)) hideLowerChildren(rel, path, present);
    for (const name of names) {
      const childPath = childOf(path, name);
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const abs = `${dir}/${name}`;
      if (format === 'aufs' && name.startsWith(WHITEOUT_PREFIX)) {
        // `.wh..wh.*` is aufs metadata or the opaque marker (handled above); `.wh.x` deletes x.
        if (!name.startsWith(WHITEOUT_META_PREFIX))
          record(childOf(path, name.slice(WHITEOUT_PREFIX.length)), 'delete');
        continue;
      }
      const st = lstatEntryAt(dirfd, name, abs);
      if (!st) continue;
      if (format === 'overlay') {
        if (isWhiteoutEntryStat(st)) {
          record(childPath, 'delete');
          continue;
        }
        assertNativeUpper(abs, overlayNames(abs, userxattr));
      }
      const below = view.lookup(childRel);
      if (!below) record(childPath, 'add');
      else if (!(isDirectory(st) && below.stat.isDirectory() && sameDirMeta(st, below.stat)))
        record(childPath, 'modify');
      if (!isDirectory(st)) continue;
      if (format === 'overlay' && below?.stat.isDirectory() && isOpaqueDir(abs, userxattr)) {
        const childNames = new Set(readNames(abs) ?? []);
        hideLowerChildren(childRel, childPath, childNames);
      }
      walk(abs, childRel, childPath);
    }
  };

  // An opaque directory deletes what lay below it: each hidden lower child not present in the upper is
  // reported deleted (Docker reports the opaque directory itself as deleted; see README, "Changes").
  const hideLowerChildren = (rel: string, path: string, present: Set<string>) => {
    for (const name of view.children(rel).keys()) {
      if (present.has(name) || (format === 'aufs' && present.has(WHITEOUT_PREFIX + name))) continue;
      record(childOf(path, name), 'delete');
    }
  };

  walk(upper, '', '/');
  for (const parent of touchedParents) if (parent !== '/' && !found.has(parent)) found.set(parent, 'modify');
  return sortChanges([...found].map(([path, kind]) => ({ path, kind })));
}

function overlayNames(path: string, userxattr: boolean): string[] {
  let names: string[];
  try {
    names = llistxattr(path);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of names) {
    if (n.startsWith(OVERLAY_XATTR_PREFIX)) out.push(n.slice(OVERLAY_XATTR_PREFIX.length));
    else if (userxattr && n.startsWith(OVERLAY_USER_XATTR_PREFIX))
      out.push(n.slice(OVERLAY_USER_XATTR_PREFIX.length));
  }
  return out;
}

function isOpaqueDir(path: string, userxattr: boolean): boolean {
  try {
    return isOpaqueValue(lgetxattr(path, opaqueXattrName(userxattr)));
  } catch {
    return false;
  }
}
