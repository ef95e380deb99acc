/**
 * Where a directory named by an entry really is, inside the target — resolved as a chroot at the target
 * would resolve it, so that no symlink (made by this layer or already in the tree) can lead outside.
 *
 * A per-entry lstat walk up the path is what makes tar-fs slow, so resolved directories are cached:
 * `cache` maps a root-relative directory path, as entries name it, to the real root-relative directory
 * it resolves to. Only this apply changes the tree, so the cache stays right until this apply removes or
 * replaces a directory or a symlink, which clears it (`invalidate`). Writers then only ever touch
 * `<root>/<real parent>/<base>`, and never follow the last component.
 */
import { lstatSync, mkdirSync, readlinkSync } from 'node:fs';
import { TarError } from '../errors.js';
import { chrootJoin } from './entry-name.js';

/** Linux gives up after 40 symlinks in one lookup (MAXSYMLINKS); so do we. */
const MAX_HOPS = 40;

export class PathResolver {
  readonly root: string;
  private cache = new Map<string, string>();
  /** The last cache hit (cleared with the cache, and by `remember`). */
  private lastKey: string | undefined;
  private lastReal = '';
  /** Called for each directory this resolver creates (a missing parent): its real path and parent's. */
  onCreate: ((real: string, parent: string) => void) | undefined;

  constructor(root: string) {
    this.root = root;
  }

  abs(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`;
  }

  private lastDir: string | undefined;
  private lastDirAbs = '';

  /**
   * `abs` of a directory, the same string object while consecutive entries share it: the writer
   * threads key their directory map by it, and a fresh string per file was hashed afresh every time
   * (`dirId`: 2% of the main thread's profile on 100,000 small files).
   */
  absDir(rel: string): string {
    if (rel !== this.lastDir) {
      this.lastDir = rel;
      this.lastDirAbs = this.abs(rel);
    }
    return this.lastDirAbs;
  }

  /** Called before a path is looked up on disk (a cache miss): `name` in the real root-relative `parent`. */
  beforeLookup: ((parent: string, name: string) => void) | undefined;

  /** Called when `invalidate` drops the cache, for what others learnt about the same directories. */
  onInvalidate: (() => void) | undefined;

  /** Forget every resolution (a directory or symlink was removed or replaced). */
  invalidate(): void {
    this.cache.clear();
    this.lastKey = undefined;
    this.onInvalidate?.();
  }

  /** Records that `dir` (as entries name it) is the real directory `real`. */
  remember(dir: string, real: string): void {
    this.cache.set(dir, real);
    this.lastKey = undefined;
  }

  /**
   * The real directory for `dir`, creating missing directories (mode 0755, as Docker's MkdirAll) when
   * `create`; undefined when it is missing and `create` is false. Throws ERR_OVL_UNSAFE_PATH on a
   * symlink loop and ERR_OVL_WRITE_FAILED (cause ENOTDIR) when a non-directory is in the way.
   */
  resolveDir(dir: string, create: boolean, entry: string): string | undefined {
    return this.resolve(dir, create, entry, { hops: 0 });
  }

  private resolve(dir: string, create: boolean, entry: string, state: { hops: number }): string | undefined {
    if (dir === '') return '';
    // Consecutive entries mostly share their directory: one string compare instead of hashing a
    // fresh substring for the map.
    if (dir === this.lastKey) return this.lastReal;
    const hit = this.cache.get(dir);
    if (hit !== undefined) {
      this.lastKey = dir;
      this.lastReal = hit;
      return hit;
    }
    // Find the deepest cached ancestor, then walk down from it.
    let cut = dir.length;
    let real = '';
    let start = 0;
    for (;;) {
      cut = dir.lastIndexOf('/', cut - 1);
      if (cut < 0) break;
      const h = this.cache.get(dir.slice(0, cut));
      if (h !== undefined) {
        real = h;
        start = cut + 1;
        break;
      }
    }
    while (start <= dir.length) {
      let end = dir.indexOf('/', start);
      if (end < 0) end = dir.length;
      const name = dir.slice(start, end);
      const next = this.step(real, name, create, entry, state);
      if (next === undefined) return undefined;
      real = next;
      this.cache.set(dir.slice(0, end), real);
      start = end + 1;
    }
    return real;
  }

  private step(
    parent: string,
    name: string,
    create: boolean,
    entry: string,
    state: { hops: number },
  ): string | undefined {
    const rel = parent === '' ? name : `${parent}/${name}`;
    const path = this.abs(rel);
    this.beforeLookup?.(parent, name);
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (st === undefined) {
      if (!create) return undefined;
      try {
        mkdirSync(path, 0o755);
      } catch (cause) {
        throw writeFailed(entry, path, 'create the parent directory', cause);
      }
      this.onCreate?.(rel, parent);
      return rel;
    }
    if (st.isDirectory()) return rel;
    if (st.isSymbolicLink()) {
      if (++state.hops > MAX_HOPS) {
        throw new TarError(
          'ERR_OVL_UNSAFE_PATH',
          `entry '${entry}': too many levels of symlinks at '${rel}' (a loop?); refusing the entry`,
          { entry, path },
        );
      }
      const target = chrootJoin(parent, readlinkSync(path));
      return this.resolve(target, create, entry, state);
    }
    const cause = Object.assign(new Error(`ENOTDIR: not a directory, '${path}'`), {
      code: 'ENOTDIR',
      path,
    });
    throw writeFailed(entry, path, 'use it as a directory (it is not one)', cause);
  }
}

export function writeFailed(entry: string, path: string, what: string, cause: unknown): TarError {
  const code = (cause as NodeJS.ErrnoException)?.code ?? 'error';
  return new TarError('ERR_OVL_WRITE_FAILED', `entry '${entry}': cannot ${what} at '${path}' (${code})`, {
    entry,
    path,
    cause,
  });
}

/** True when `err` is a failure because something in the path is not a directory. */
export function isNotDir(err: unknown): boolean {
  return err instanceof TarError && (err.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOTDIR';
}
