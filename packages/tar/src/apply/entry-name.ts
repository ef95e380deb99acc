import { TarError } from '../errors.js';

/**
 * Cleans a tar entry name into a path relative to the target, as Docker does (`filepath.Clean`, then a
 * breakout check): leading `/` and `.` components are dropped (an absolute name lands inside the target,
 * as GNU tar and Docker place it), `a/../b` becomes `b`, and a `..` that would climb above the target is
 * refused. Returns '' for the target itself (`./`, `/`).
 */
export function cleanEntryName(name: string, entry: string = name): string {
  if (name.includes('\0')) {
    throw new TarError('ERR_OVL_BAD_TAR', `entry name '${entry}' contains a NUL byte; the tar is corrupt`, {
      entry,
    });
  }
  // Fast path: most names have no '.' or empty components to clean, once the `./` that `tar -C dir .`
  // puts before every name is dropped (the split and join below cost ~3 µs an entry).
  const bare = name.startsWith('./') ? name.slice(2) : name;
  if (!bare.startsWith('/') && !bare.startsWith('./') && !bare.includes('//') && !hasDotComponent(bare)) {
    return bare.endsWith('/') ? bare.slice(0, -1) : bare;
  }
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) {
        throw new TarError(
          'ERR_OVL_UNSAFE_PATH',
          `entry '${entry}' climbs out of the target with '..'; refusing the layer (it is hostile or broken)`,
          { entry },
        );
      }
      out.pop();
      continue;
    }
    out.push(part);
  }
  return out.join('/');
}

function hasDotComponent(name: string): boolean {
  if (name === '.' || name === '..' || name.startsWith('./') || name.startsWith('../')) return true;
  return name.includes('/./') || name.includes('/../') || name.endsWith('/.') || name.endsWith('/..');
}

/** Splits a cleaned relative path into its parent ('' for the target) and its last component. */
export function splitPath(rel: string): [parent: string, base: string] {
  const i = rel.lastIndexOf('/');
  return i < 0 ? ['', rel] : [rel.slice(0, i), rel.slice(i + 1)];
}

/**
 * Resolves `link` (a symlink's target) from the directory `dir` (relative to the root) the way a chroot
 * at the target would: absolute targets start at the target, and `..` stops at the target's top.
 */
export function chrootJoin(dir: string, link: string): string {
  const out: string[] = link.startsWith('/') || dir === '' ? [] : dir.split('/');
  for (const part of link.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out.join('/');
}
