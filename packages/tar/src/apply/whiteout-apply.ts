/**
 * Whiteouts and opaque markers in the 'overlay' and 'flatten' formats ('aufs' keeps them as files).
 * https://github.com/opencontainers/image-spec/blob/main/layer.md#whiteouts
 */
import { type Dirent, lstatSync, readdirSync, rmSync } from 'node:fs';
import { TarError } from '../errors.js';
import { opaqueXattrName } from '../whiteouts.js';
import type { EntryMeta } from './metadata.js';
import { isNotDir, writeFailed } from './resolver.js';
import { S_IFCHR } from './syscalls.js';
import type { EntryWriter } from './writer.js';

/** `<parent>/.wh.<name>`: hides `<parent>/<name>` of the layers below. */
export function applyWhiteout(
  w: EntryWriter,
  parent: string,
  name: string,
  meta: EntryMeta,
  entry: string,
): void {
  if (name === '.' || name === '..' || name === '') {
    throw new TarError('ERR_OVL_UNSAFE_PATH', `whiteout '${entry}' names '${name}'; refusing the layer`, {
      entry,
    });
  }
  const rel = parent === '' ? name : `${parent}/${name}`;
  if (w.format === 'overlay') {
    let p: ReturnType<EntryWriter['placeClean']>;
    try {
      p = w.placeClean(rel, entry, true);
    } catch (err) {
      // `.wh.foo` then `foo/.wh.bar` (what `rm -rf foo/bar; rm -rf foo` leaves): foo is already a
      // whiteout device, and whatever lay below it is hidden anyway.
      if (isNotDir(err)) return;
      throw err;
    }
    if (!p) return;
    // The whiteout: a 0/0 character device, owned as the entry says (containers/storage does the same).
    w.createWith(p, entry, 'create the whiteout device', () => w.sys.mknod(p.abs, S_IFCHR, 0));
    w.nodeMeta(p.abs, { ...meta, mode: 0, xattrs: undefined }, entry);
    return;
  }
  // 'flatten': delete the path from the merged tree, sparing what this layer itself wrote (a whiteout
  // applies only to the layers below).
  let p: ReturnType<EntryWriter['placeClean']>;
  try {
    p = w.placeClean(rel, entry, false);
  } catch (err) {
    if (isNotDir(err)) return; // a file where a parent should be: nothing below to delete
    throw err;
  }
  if (!p) return;
  if (w.written?.has(p.real)) {
    const st = lstatSync(p.abs, { throwIfNoEntry: false });
    if (st?.isDirectory()) emptyExceptWritten(w, p.real, entry);
    return;
  }
  w.removeExisting(p.abs, entry, false);
}

/** `<dir>/.wh..wh..opq`: `<dir>` hides everything the layers below put in it. */
export function applyOpaque(w: EntryWriter, dir: string, entry: string, userxattr: boolean): void {
  if (w.format === 'overlay') {
    let real: string;
    try {
      real = w.resolver.resolveDir(dir, true, entry)!;
    } catch (err) {
      if (isNotDir(err)) return; // the dir is itself whited out by this layer: nothing to mark
      throw err;
    }
    const abs = w.resolver.abs(real);
    try {
      w.sys.lsetxattr(abs, opaqueXattrName(userxattr), Buffer.from('y'));
    } catch (cause) {
      throw writeFailed(entry, abs, `set ${opaqueXattrName(userxattr)} on`, cause);
    }
    return;
  }
  let real: string | undefined;
  try {
    real = w.resolver.resolveDir(dir, false, entry);
  } catch (err) {
    if (isNotDir(err)) return;
    throw err;
  }
  if (real === undefined) return;
  emptyExceptWritten(w, real, entry);
}

/**
 * Removes from `real` (a dir) everything this layer did not write, recursing into the dirs it did write:
 * the opaque marker may come before or after this layer's own entries of the dir.
 */
function emptyExceptWritten(w: EntryWriter, real: string, entry: string): void {
  const abs = w.resolver.abs(real);
  let names: Dirent[];
  try {
    names = readdirSync(abs, { withFileTypes: true });
  } catch (cause) {
    throw writeFailed(entry, abs, 'read the opaque dir', cause);
  }
  for (const d of names) {
    const child = real === '' ? d.name : `${real}/${d.name}`;
    if (!w.written?.has(child)) {
      try {
        rmSync(w.resolver.abs(child), { recursive: true, force: true });
      } catch (cause) {
        throw writeFailed(entry, w.resolver.abs(child), 'remove what the opaque dir hides', cause);
      }
      if (d.isDirectory() || d.isSymbolicLink()) w.resolver.invalidate();
    } else if (d.isDirectory()) {
      emptyExceptWritten(w, child, entry);
    }
  }
}
