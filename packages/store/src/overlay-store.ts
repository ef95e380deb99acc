import { promises as fsp } from 'node:fs';
import { join, resolve } from 'node:path';
import { atomicSymlink, atomicWriteFile, fsyncDir } from './atomic-write.js';
import { isErrno, StoreError } from './errors.js';
import { hiddenName, STAGING_PREFIX } from './hidden-names.js';
import { isValidLayerId, validateLayerId } from './layer-id.js';
import { generateLinkId, isLinkId } from './link-id.js';
import { DEFAULT_MAX_DEPTH } from './max-depth.js';
import { mountsUnder } from './mounts-under.js';
import { type RepairReport, repairOverlayStore } from './overlay-repair.js';
import { RefCounts } from './ref-counts.js';
import { removeOutOfSight } from './remove-tree.js';

export interface OverlayStoreOptions {
  /** deepest stack (this layer plus its lowers) a layer may have; 500 by default, 128 as Docker */
  maxDepth?: number;
  /** run the repair pass on open (default true) */
  repair?: boolean;
  /**
   * Unmounts a path (lazily); used to clear stale mounts. Give it `(p) => umount2(p, MNT_DETACH)`
   * from @ovl/syscall. Without it, stale mounts are reported by repair but left in place.
   */
  unmount?: (path: string) => void | Promise<void>;
}

/** Where one layer lives. */
export interface OverlayLayerPaths {
  id: string;
  dir: string;
  diff: string;
  work: string;
  merged: string;
  /** the short ID: `<home>/l/<link>` → `../<id>/diff` */
  link: string;
  /** the parents' links as `l/<ID>`, top first (empty for a base layer) */
  lowers: string[];
}

/**
 * The overlay layout of containers/storage:
 * ```
 * <home>/<id>/diff     the layer's files (the upper dir while it is writable)
 * <home>/<id>/work     overlay's work dir
 * <home>/<id>/merged   the mount point
 * <home>/<id>/link     the short ID, 26 × [A-Z0-9]
 * <home>/<id>/lower    the parents as `l/A:l/B:…`, top first (absent for a base layer)
 * <home>/l/<ID>        symlink → ../<id>/diff
 * ```
 * A layer is built in a hidden staging directory and renamed into place, so it appears whole or not
 * at all; removal renames it out of sight first. Nothing here mounts: that is the driver's job.
 */
export class OverlayStore {
  readonly home: string;
  readonly maxDepth: number;
  /** reference counts of mounts, shared across processes */
  readonly refs: RefCounts;
  readonly unmount?: (path: string) => void | Promise<void>;

  private constructor(home: string, opts: OverlayStoreOptions) {
    this.home = home;
    this.maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.refs = new RefCounts(join(home, '.refs'));
    if (opts.unmount) this.unmount = opts.unmount;
  }

  /** Opens (creating if needed) a store at `home` and repairs it. */
  static async open(home: string, opts: OverlayStoreOptions = {}): Promise<OverlayStore> {
    const store = new OverlayStore(resolve(home), opts);
    await fsp.mkdir(join(store.home, 'l'), { recursive: true, mode: 0o700 });
    await fsp.mkdir(store.refs.dir, { recursive: true, mode: 0o700 });
    if (opts.repair !== false) await store.repair();
    return store;
  }

  /** The repair pass (also run by open): see overlay-repair.ts. */
  repair(): Promise<RepairReport> {
    return repairOverlayStore(this);
  }

  /** Paths of a layer, without touching the disk. */
  dir(id: string): string {
    validateLayerId(id);
    return join(this.home, id);
  }

  /** True when the layer exists whole (its directory with a `link` file). */
  async exists(id: string): Promise<boolean> {
    try {
      await fsp.access(join(this.dir(id), 'link'));
      return true;
    } catch {
      return false;
    }
  }

  /** Every whole layer's ID. */
  async list(): Promise<string[]> {
    const out: string[] = [];
    for (const name of await fsp.readdir(this.home)) {
      if (isValidLayerId(name) && (await this.exists(name))) out.push(name);
    }
    return out.sort();
  }

  /** Reads a layer's paths and chain; `ERR_OVL_LAYER_NOT_FOUND` when it does not exist. */
  async layer(id: string): Promise<OverlayLayerPaths> {
    const dir = this.dir(id);
    let link: string;
    try {
      link = (await fsp.readFile(join(dir, 'link'), 'utf8')).trim();
    } catch (err) {
      if (isErrno(err, 'ENOENT')) {
        throw new StoreError('ERR_OVL_LAYER_NOT_FOUND', `layer ${id} does not exist in ${this.home}`, {
          path: id,
          cause: err,
        });
      }
      throw err;
    }
    let lowers: string[] = [];
    try {
      const text = (await fsp.readFile(join(dir, 'lower'), 'utf8')).trim();
      lowers = text === '' ? [] : text.split(':');
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
    }
    return {
      id,
      dir,
      diff: join(dir, 'diff'),
      work: join(dir, 'work'),
      merged: join(dir, 'merged'),
      link,
      lowers,
    };
  }

  /** A `lower` entry as an absolute path: `l/<ID>` entries are relative to this store's home. */
  absoluteLower(entry: string): string {
    return entry.startsWith('/') ? entry : join(this.home, entry);
  }

  /** The parents' diff dirs as absolute paths, top first (symlinks in `l/` resolved). */
  async lowerDirs(id: string): Promise<string[]> {
    const { lowers } = await this.layer(id);
    return Promise.all(
      lowers.map(async (l) => {
        const abs = this.absoluteLower(l);
        return resolve(abs, '..', await fsp.readlink(abs));
      }),
    );
  }

  /**
   * Replaces a layer's diff dir with `staged` (a dir built beside it in the same file system).
   * An empty diff is replaced by one atomic rename. Otherwise the old diff is first renamed to
   * `diff.old`; repair rolls back to it when a crash hits between the two renames and deletes it after.
   */
  async replaceDiff(id: string, staged: string): Promise<void> {
    const dir = this.dir(id);
    const diff = join(dir, 'diff');
    try {
      await fsp.rename(staged, diff); // rename(2) replaces an empty directory atomically
    } catch (err) {
      if (!isErrno(err, 'ENOTEMPTY') && !isErrno(err, 'EEXIST')) throw err;
      const old = join(dir, 'diff.old');
      await fsp.rm(old, { recursive: true, force: true });
      await fsp.rename(diff, old);
      await fsp.rename(staged, diff);
      await fsyncDir(dir);
      await fsp.rm(old, { recursive: true, force: true });
    }
    await fsyncDir(dir);
  }

  /**
   * Creates layer `id` on top of `parent` (a base layer without). Refuses an existing ID
   * (`ERR_OVL_LAYER_EXISTS`), a missing parent (`ERR_OVL_LAYER_NOT_FOUND`) and a stack deeper than
   * maxDepth (`ERR_OVL_MAX_DEPTH`). The new diff dir takes the mode and owner of the parent's, so
   * the merged root looks like the parent's root.
   */
  async create(
    id: string,
    parent?: string,
    opts: { parentStore?: OverlayStore } = {},
  ): Promise<OverlayLayerPaths> {
    const dir = this.dir(id);
    if (await this.exists(id)) {
      throw new StoreError('ERR_OVL_LAYER_EXISTS', `layer ${id} already exists in ${this.home}`, {
        path: id,
      });
    }
    let lowers: string[] = [];
    let rootStat: { mode: number; uid: number; gid: number } = { mode: 0o755, uid: 0, gid: 0 };
    if (parent !== undefined) {
      const from = opts.parentStore ?? this;
      const p = await from.layer(parent);
      // A parent in another (read-only image) store is named by absolute paths into that store.
      lowers =
        from === this
          ? [`l/${p.link}`, ...p.lowers]
          : [p.link, ...p.lowers].map((l, i) => (i === 0 ? join(from.home, 'l', l) : from.absoluteLower(l)));
      const st = await fsp.stat(p.diff);
      rootStat = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
    }
    if (lowers.length + 1 > this.maxDepth) {
      throw new StoreError(
        'ERR_OVL_MAX_DEPTH',
        `layer ${id} would stack ${lowers.length + 1} layers, more than the store's maximum of ${this.maxDepth}; squash the image or flatten its parent`,
        { path: id },
      );
    }
    const link = generateLinkId();
    const staging = join(this.home, hiddenName(STAGING_PREFIX, id));
    await fsp.mkdir(staging, { mode: 0o700 });
    try {
      await fsp.mkdir(join(staging, 'diff'));
      await fsp.chown(join(staging, 'diff'), rootStat.uid, rootStat.gid);
      await fsp.chmod(join(staging, 'diff'), rootStat.mode);
      await fsp.mkdir(join(staging, 'work'), { mode: 0o700 });
      await fsp.mkdir(join(staging, 'merged'), { mode: 0o700 });
      if (lowers.length > 0) await atomicWriteFile(join(staging, 'lower'), lowers.join(':'));
      await atomicWriteFile(join(staging, 'link'), link);
      await fsp.rename(staging, dir);
    } catch (err) {
      await fsp.rm(staging, { recursive: true, force: true });
      if (isErrno(err, 'ENOTEMPTY') || isErrno(err, 'EEXIST')) {
        throw new StoreError('ERR_OVL_LAYER_EXISTS', `layer ${id} already exists in ${this.home}`, {
          path: id,
          cause: err,
        });
      }
      throw err;
    }
    await fsyncDir(this.home);
    // The l/ link comes after the rename: if we die in between, repair recreates it from `link`.
    await atomicSymlink(`../${id}/diff`, join(this.home, 'l', link));
    await fsyncDir(join(this.home, 'l'));
    return {
      id,
      dir,
      diff: join(dir, 'diff'),
      work: join(dir, 'work'),
      merged: join(dir, 'merged'),
      link,
      lowers,
    };
  }

  /**
   * Removes a layer: lazily unmounts anything still mounted inside it (when an `unmount` was given),
   * renames it out of sight, drops its l/ link, then deletes it. Removing a missing layer is a no-op.
   */
  async remove(id: string): Promise<void> {
    const dir = this.dir(id);
    let link: string | undefined;
    try {
      link = (await fsp.readFile(join(dir, 'link'), 'utf8')).trim();
    } catch {}
    for (const point of mountsUnder(dir)) {
      if (!this.unmount) {
        throw new StoreError(
          'ERR_OVL_STORE_CORRUPT',
          `${point} is still mounted; unmount it before removing ${id}`,
          {
            path: point,
          },
        );
      }
      await this.unmount(point);
    }
    if (link !== undefined && isLinkId(link)) await fsp.rm(join(this.home, 'l', link), { force: true });
    await removeOutOfSight(dir);
    await this.refs.clear(id);
  }
}
