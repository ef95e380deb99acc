import { promises as fsp } from 'node:fs';
import { join, resolve } from 'node:path';
import { atomicWriteFile, fsyncDir } from './atomic-write.js';
import { isErrno, StoreError } from './errors.js';
import { hiddenName, STAGING_PREFIX } from './hidden-names.js';
import { isValidLayerId, validateLayerId } from './layer-id.js';
import { mountsUnder } from './mounts-under.js';
import { RefCounts } from './ref-counts.js';
import { removeLeftovers, removeOutOfSight } from './remove-tree.js';

/**
 * aufs's own branch limit with the usual CONFIG_AUFS_BRANCH_MAX_127; a layer plus its parents must
 * fit, plus the read-write branch on top.
 */
export const AUFS_DEFAULT_MAX_DEPTH = 127;

export interface AufsStoreOptions {
  /** deepest stack (layer plus parents), 127 by default */
  maxDepth?: number;
  /** run the repair pass on open (default true) */
  repair?: boolean;
  /** lazily unmounts a path, e.g. `(p) => umount2(p, MNT_DETACH)`; used by remove and repair */
  unmount?: (path: string) => void | Promise<void>;
}

/** Where one aufs layer lives. */
export interface AufsLayerPaths {
  id: string;
  /** `<home>/diff/<id>`: the layer's files, aufs whiteouts (`.wh.*`) kept as files */
  diff: string;
  /** `<home>/mnt/<id>`: the mount point */
  mnt: string;
  /** `<home>/layers/<id>`: the parent chain file */
  layersFile: string;
  /** parent IDs, nearest first (empty for a base layer) */
  parents: string[];
}

/** What an aufs repair pass found and did. */
export interface AufsRepairReport {
  leftovers: string[];
  /** diff/mnt dirs with no `layers/<id>` file (interrupted create or remove), deleted */
  halfLayers: string[];
  /** layers whose mnt dir was missing, recreated */
  remadeMnt: string[];
  /** layers whose diff dir is missing: not deleted (that would lose the layer), reported */
  missingDiff: string[];
  unmounted: string[];
  staleMounts: string[];
}

/**
 * The aufs layout of Docker's aufs driver:
 * ```
 * <home>/layers/<id>   parent IDs, one per line, nearest first (empty file for a base layer)
 * <home>/diff/<id>     the layer's files
 * <home>/mnt/<id>      the mount point
 * ```
 * `layers/<id>` is the commit record: it is written (atomically) last on create and removed first
 * on remove, so a layer whose `layers` file exists is whole; repair deletes diff/mnt dirs without one.
 */
export class AufsStore {
  readonly home: string;
  readonly maxDepth: number;
  readonly refs: RefCounts;
  readonly unmount?: (path: string) => void | Promise<void>;

  private constructor(home: string, opts: AufsStoreOptions) {
    this.home = home;
    this.maxDepth = opts.maxDepth ?? AUFS_DEFAULT_MAX_DEPTH;
    this.refs = new RefCounts(join(home, '.refs'));
    if (opts.unmount) this.unmount = opts.unmount;
  }

  /** Opens (creating if needed) an aufs-layout store at `home` and repairs it. */
  static async open(home: string, opts: AufsStoreOptions = {}): Promise<AufsStore> {
    const store = new AufsStore(resolve(home), opts);
    for (const d of ['layers', 'diff', 'mnt', '.refs']) {
      await fsp.mkdir(join(store.home, d), { recursive: true, mode: 0o700 });
    }
    if (opts.repair !== false) await store.repair();
    return store;
  }

  paths(id: string, parents: string[] = []): AufsLayerPaths {
    validateLayerId(id);
    return {
      id,
      diff: join(this.home, 'diff', id),
      mnt: join(this.home, 'mnt', id),
      layersFile: join(this.home, 'layers', id),
      parents,
    };
  }

  async exists(id: string): Promise<boolean> {
    try {
      await fsp.access(this.paths(id).layersFile);
      return true;
    } catch {
      return false;
    }
  }

  async list(): Promise<string[]> {
    return (await fsp.readdir(join(this.home, 'layers'))).filter(isValidLayerId).sort();
  }

  /** Parent IDs of `id`, nearest first; `ERR_OVL_LAYER_NOT_FOUND` when it does not exist. */
  async parents(id: string): Promise<string[]> {
    try {
      const text = await fsp.readFile(this.paths(id).layersFile, 'utf8');
      return text.split('\n').filter((l) => l.length > 0);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) {
        throw new StoreError('ERR_OVL_LAYER_NOT_FOUND', `layer ${id} does not exist in ${this.home}`, {
          path: id,
          cause: err,
        });
      }
      throw err;
    }
  }

  async layer(id: string): Promise<AufsLayerPaths> {
    return this.paths(id, await this.parents(id));
  }

  /** Creates layer `id` on `parent`; same refusals as the overlay layout. */
  async create(id: string, parent?: string): Promise<AufsLayerPaths> {
    const p = this.paths(id);
    if (await this.exists(id)) {
      throw new StoreError('ERR_OVL_LAYER_EXISTS', `layer ${id} already exists in ${this.home}`, {
        path: id,
      });
    }
    const parents = parent === undefined ? [] : [parent, ...(await this.parents(parent))];
    if (parents.length + 1 > this.maxDepth) {
      throw new StoreError(
        'ERR_OVL_MAX_DEPTH',
        `layer ${id} would stack ${parents.length + 1} layers, more than the store's maximum of ${this.maxDepth}`,
        { path: id },
      );
    }
    const staging = join(this.home, 'diff', hiddenName(STAGING_PREFIX, id));
    await fsp.mkdir(staging, { mode: 0o755 });
    try {
      await fsp.rm(p.diff, { recursive: true, force: true }); // an orphan of an interrupted create
      await fsp.rename(staging, p.diff);
      await fsp.mkdir(p.mnt, { recursive: true, mode: 0o755 });
      await fsyncDir(join(this.home, 'diff'));
      await atomicWriteFile(p.layersFile, parents.map((x) => `${x}\n`).join(''));
    } catch (err) {
      await fsp.rm(staging, { recursive: true, force: true });
      throw err;
    }
    return { ...p, parents };
  }

  /** Removes a layer: unmounts its mnt dir, drops `layers/<id>`, then deletes diff and mnt out of sight. */
  async remove(id: string): Promise<void> {
    const p = this.paths(id);
    for (const point of mountsUnder(p.mnt)) {
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
    await fsp.rm(p.layersFile, { force: true });
    await fsyncDir(join(this.home, 'layers'));
    await removeOutOfSight(p.diff);
    await removeOutOfSight(p.mnt);
    await this.refs.clear(id);
  }

  /** The repair pass (run by open). */
  async repair(): Promise<AufsRepairReport> {
    const r: AufsRepairReport = {
      leftovers: [],
      halfLayers: [],
      remadeMnt: [],
      missingDiff: [],
      unmounted: [],
      staleMounts: [],
    };
    for (const point of mountsUnder(join(this.home, 'mnt'))) {
      const id = point.slice(join(this.home, 'mnt').length + 1).split('/')[0] ?? '';
      const clear = async () => {
        // Checked again under the lock: another process may have unmounted it since we listed.
        if (!mountsUnder(join(this.home, 'mnt')).includes(point)) return;
        if (this.unmount) {
          await this.unmount(point);
          r.unmounted.push(point);
        } else r.staleMounts.push(point);
      };
      if (isValidLayerId(id)) await this.refs.withLock(id, async (h) => (h.length > 0 ? undefined : clear()));
      else await clear();
    }
    for (const d of ['layers', 'diff', 'mnt', '.refs'])
      r.leftovers.push(...(await removeLeftovers(join(this.home, d))));
    const whole = new Set(await this.list());
    for (const d of ['diff', 'mnt'] as const) {
      for (const name of await fsp.readdir(join(this.home, d))) {
        if (!isValidLayerId(name) || whole.has(name)) continue;
        if (mountsUnder(join(this.home, d, name)).length > 0) continue;
        await removeOutOfSight(join(this.home, d, name));
        if (!r.halfLayers.includes(name)) r.halfLayers.push(name);
      }
    }
    for (const id of whole) {
      const p = this.paths(id);
      if (
        !(await fsp.access(p.mnt).then(
          () => true,
          () => false,
        ))
      ) {
        await fsp.mkdir(p.mnt, { recursive: true, mode: 0o755 });
        r.remadeMnt.push(id);
      }
      if (
        !(await fsp.access(p.diff).then(
          () => true,
          () => false,
        ))
      )
        r.missingDiff.push(id);
    }
    return r;
  }
}
