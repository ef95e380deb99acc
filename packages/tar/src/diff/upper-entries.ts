// The entries of a layer read straight from its upper dir (the "native" diff): every entry of the upper
// dir, whiteouts converted to `.wh.` files, opaque directories marked with `.wh..wh..opq`, overlayfs'
// own xattrs dropped. Directories are walked depth first, each one's entries in bytewise order of the
// names they get in the tar, the opaque marker right after its directory.
import { constants, openSync } from 'node:fs';
import { compareNames } from '../changes/change.js';
import { lstatMaybe, readNames } from '../changes/fs-entry.js';
import { type LayerFormat, LowerView } from '../changes/lower-view.js';
import { assertNativeUpper } from '../changes/unsupported-upper.js';
import { isOpaqueValue, readXattrs } from '../changes/xattrs.js';
import { WHITEOUT_META_PREFIX, WHITEOUT_OPAQUE, WHITEOUT_PREFIX } from '../whiteouts.js';
import { DirHandle } from './dir-handle.js';
import { type EntryStat, isRegular, isWhiteoutEntryStat, lstatEntry, lstatEntryAt } from './entry-stat.js';
import {
  entryFromStat,
  HardlinkTracker,
  joinName,
  type LayerEntry,
  opaqueEntry,
  whiteoutEntry,
} from './layer-entry.js';

export interface UpperEntriesOptions {
  format: LayerFormat;
  /** Lower layers, top first; when given, opaque markers are written only where they hide something. */
  lowers?: readonly string[];
  userxattr?: boolean;
}

export function* upperEntries(upper: string, options: UpperEntriesOptions): Generator<LayerEntry> {
  const { format } = options;
  const userxattr = options.userxattr ?? false;
  const view = options.lowers ? new LowerView(options.lowers, format, userxattr) : undefined;
  const links = new HardlinkTracker();

  const isOpaque = (abs: string, overlayXattrs: Map<string, Buffer>): boolean =>
    format === 'overlay'
      ? isOpaqueValue(overlayXattrs.get('opaque'))
      : lstatMaybe(`${abs}/${WHITEOUT_OPAQUE}`) !== undefined;
  const hidesSomething = (rel: string) => !view || view.children(rel).size > 0;

  function* walk(dir: string, rel: string): Generator<LayerEntry> {
    // Entries are stat-ed, and files later opened, relative to the open directory (no lookup of its
    // parents); when it cannot be opened, by full path (a directory that vanished reads as empty below).
    const dirfd = openDir(dir);
    const handle = dirfd >= 0 ? new DirHandle(dirfd) : undefined;
    try {
      yield* walkIn(dir, rel, dirfd, handle);
    } finally {
      handle?.release();
    }
  }

  function* walkIn(dir: string, rel: string, dirfd: number, handle?: DirHandle): Generator<LayerEntry> {
    const items: Array<{ key: string; entry?: LayerEntry; name: string }> = [];
    for (const name of readNames(dir) ?? []) {
      if (format === 'aufs' && name.startsWith(WHITEOUT_PREFIX)) {
        // aufs metadata (.wh..wh.plnk, .wh..wh.aufs, ...) is never content; the opaque marker is written
        // from its directory; .wh.<x> is a whiteout, normalised to the one shape.
        if (name.startsWith(WHITEOUT_META_PREFIX)) continue;
        const st = lstatEntryAt(dirfd, name, `${dir}/${name}`);
        if (st)
          items.push({
            key: name,
            name,
            entry: whiteoutEntry(rel, name.slice(WHITEOUT_PREFIX.length), st.mtime),
          });
        continue;
      }
      items.push({ key: name, name });
    }
    // Overlay whiteouts are named after what they delete; their tar name decides their place.
    const stats = new Map<string, EntryStat | undefined>();
    if (format === 'overlay') {
      for (const item of items) {
        const st = lstatEntryAt(dirfd, item.name, `${dir}/${item.name}`);
        stats.set(item.name, st);
        if (st && isWhiteoutEntryStat(st)) {
          item.key = WHITEOUT_PREFIX + item.name;
          item.entry = whiteoutEntry(rel, item.name, st.mtime);
        }
      }
    }
    items.sort((a, b) => compareNames(a.key, b.key));
    for (const item of items) {
      if (item.entry) {
        yield item.entry;
        continue;
      }
      const abs = `${dir}/${item.name}`;
      const st = format === 'overlay' ? stats.get(item.name) : lstatEntryAt(dirfd, item.name, abs);
      if (!st) continue; // removed while we walk
      // A regular file's xattrs are read with its content (pendingXattrs), a directory's here: whether it
      // is opaque decides what comes next.
      const deferred = isRegular(st);
      const xattrs = deferred ? undefined : readXattrs(abs, userxattr);
      if (xattrs && format === 'overlay') assertNativeUpper(abs, xattrs.overlay.keys());
      const name = joinName(rel, item.name);
      const entry = entryFromStat(name, abs, st, xattrs?.content);
      if (!entry) continue;
      if (deferred) entry.pendingXattrs = { path: abs, userxattr, native: format === 'overlay' };
      const out = links.apply(entry, st);
      // Held from here until the encoder has read the content (a hardlink's later members have none).
      if (handle && out.type === 'file' && out.size > 0)
        out.sourceAt = { dir: handle.retain(), name: item.name };
      yield out;
      if (entry.type !== 'directory') continue;
      if (isOpaque(abs, xattrs!.overlay) && hidesSomething(name)) yield opaqueEntry(entry);
      yield* walk(abs, name);
    }
  }

  // The upper root is not an entry of its own (Docker writes none), but an opaque root still hides.
  const rootStat = lstatEntry(upper);
  if (rootStat) {
    const xattrs = readXattrs(upper, userxattr);
    if (format === 'overlay') assertNativeUpper(upper, xattrs.overlay.keys());
    if (isOpaque(upper, xattrs.overlay) && hidesSomething('')) {
      const root = entryFromStat('', upper, rootStat, undefined)!;
      yield opaqueEntry(root);
    }
  }
  yield* walk(upper, '');
}

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

function openDir(dir: string): number {
  try {
    return openSync(dir, DIR_FLAGS);
  } catch {
    return -1;
  }
}
