import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import type { DriverOptions, OverlayExtraOptions } from '@ovl/mountopts';
import { type OverlayLayerPaths, type OverlayStore, StoreError } from '@ovl/store';
import { MNT_DETACH, type ProjectQuota, type Syscalls } from '@ovl/syscall';
import { type DriverParts, prepareDriver } from './driver-init.js';
import type { OverlayDriverOptions } from './driver-options.js';
import type { CreateOptions, Driver, GetOptions } from './driver-types.js';
import { OverlayError } from './errors.js';
import type { OverlayKernelFeatures } from './kernel-features.js';
import * as diffOps from './layer-diff.js';
import { applyMountFlags, splitMountFlags } from './mount-flags.js';
import { type LayerMount, type MountContext, mountLayer } from './mount-layer.js';
import { baseProjectId, layerSize, ProjectQuotas } from './project-quota.js';

/** A layer as found in the primary store or one of the read-only image stores. */
export interface ResolvedLayer {
  store: OverlayStore;
  layer: OverlayLayerPaths;
  readOnly: boolean;
}

/**
 * The overlay graph driver: layers in an @ovl/store overlay layout, mounted through
 * @ovl/mountopts plans run by @ovl/syscall, diffs through @ovl/tar.
 */
export class OverlayDriver implements Driver {
  readonly name = 'overlay';
  readonly sys: Syscalls;
  readonly options: DriverOptions;
  /** mounts made by this driver: layer → strategy that ran */
  readonly strategies = new Map<string, string>();
  private readonly held = new Map<string, number>();
  private lastStrategy = 'none yet';

  readonly store: OverlayStore;
  readonly imageStores: OverlayStore[];
  readonly features: OverlayKernelFeatures;
  readonly backingFs: string;
  readonly dType: boolean;
  private readonly mountCtx: MountContext;
  /** xfs project quotas once checked: the control, or why there are none */
  private quotaState?: ProjectQuotas | OverlayError;
  private quotaBase?: number;

  private constructor(parts: DriverParts) {
    if (parts.quotas) this.quotaState = parts.quotas;
    this.store = parts.store;
    this.imageStores = parts.imageStores;
    this.features = parts.features;
    this.backingFs = parts.backingFs;
    this.dType = parts.dType;
    this.sys = parts.sys;
    this.options = parts.options;
    this.mountCtx = parts.mountCtx;
  }

  /**
   * Checks the kernel and the backing filesystem, probes overlay's features with test mounts, opens
   * (and repairs) the store at `home`. Refuses overlay/aufs/zfs/ecryptfs backing filesystems.
   */
  static async init(home: string, opts: OverlayDriverOptions = {}): Promise<OverlayDriver> {
    return new OverlayDriver(await prepareDriver(home, opts));
  }

  /** Finds a layer in the primary store, then in the image stores. */
  async resolve(id: string): Promise<ResolvedLayer> {
    for (const [i, store] of [this.store, ...this.imageStores].entries()) {
      if (await store.exists(id)) return { store, layer: await store.layer(id), readOnly: i > 0 };
    }
    throw new OverlayError(
      'ERR_OVL_LAYER_NOT_FOUND',
      `layer ${id} is in neither ${this.store.home} nor an image store`,
      {
        path: id,
      },
    );
  }

  /** Creates a layer; `storageOpt.size` limits it (xfs project quota). */
  create(id: string, parent?: string, opts?: CreateOptions): Promise<void> {
    return this.createLayer(id, parent, opts, false);
  }

  /** Creates a container layer; `storageOpt.size`, else the driver's `overlay.size`, limits it. */
  createReadWrite(id: string, parent?: string, opts?: CreateOptions): Promise<void> {
    return this.createLayer(id, parent, opts, true);
  }

  private async createLayer(
    id: string,
    parent: string | undefined,
    opts: CreateOptions | undefined,
    rw: boolean,
  ) {
    const asked = opts?.storageOpt?.size;
    const size = layerSize(asked, rw ? this.options.size : undefined);
    const quotas =
      size === undefined ? undefined : await this.projectQuotas(`size=${asked ?? size} for ${id}`);
    const from = parent === undefined ? undefined : (await this.resolve(parent)).store;
    const layer = await this.store.create(
      id,
      parent,
      from && from !== this.store ? { parentStore: from } : {},
    );
    if (quotas === undefined || size === undefined) return;
    try {
      await quotas.limit(layer, size);
    } catch (err) {
      await this.remove(id).catch(() => {});
      throw err;
    }
  }

  /** The xfs project quotas of the store, checked once; `ERR_OVL_NOT_SUPPORTED` saying why not. */
  private async projectQuotas(what: string): Promise<ProjectQuotas> {
    this.quotaState ??= await ProjectQuotas.open(this.store, this.backingFs, this.sys).catch((err) => {
      if (err instanceof OverlayError) return err;
      throw err;
    });
    if (this.quotaState instanceof ProjectQuotas) return this.quotaState;
    throw new OverlayError('ERR_OVL_NOT_SUPPORTED', `${what}: ${this.quotaState.message}`, {
      path: this.store.home,
      cause: this.quotaState.cause ?? this.quotaState,
    });
  }

  /** The project ID of a limited layer of the primary store, undefined for the others. */
  private projectOf(id: string): number | undefined {
    if (this.backingFs !== 'xfs') return undefined;
    try {
      const projid = this.sys.getProjectId(this.store.dir(id));
      this.quotaBase ??= baseProjectId(this.store.home, this.sys);
      return projid > this.quotaBase ? projid : undefined;
    } catch {
      return undefined; // no such layer, or no project IDs here
    }
  }

  /** A limited layer's project: its limits and what its files take on disk; undefined when unlimited. */
  async layerQuota(id: string): Promise<ProjectQuota | undefined> {
    const projid = this.projectOf(id);
    return projid === undefined ? undefined : (await this.projectQuotas(`quota of ${id}`)).usage(projid);
  }

  /** Gives `dir` (an applyDiff staging dir) the project of layer `id` when it is limited. */
  inheritProject(id: string, dir: string): void {
    const projid = this.projectOf(id);
    if (projid !== undefined) this.sys.setProjectId(dir, projid);
  }

  async exists(id: string): Promise<boolean> {
    return this.resolve(id).then(
      () => true,
      () => false,
    );
  }

  /** Absolute lower dirs of a resolved layer, top first. */
  lowerDirs(r: ResolvedLayer): Promise<string[]> {
    return r.store.lowerDirs(r.layer.id);
  }

  /** The parent's ID (from the first lower's l/ link), or undefined for a base layer. */
  async parentOf(r: ResolvedLayer): Promise<string | undefined> {
    const [top] = await this.lowerDirs(r);
    return top === undefined ? undefined : basename(dirname(top));
  }

  private extraOptions(extra: string[]): OverlayExtraOptions {
    const o: OverlayExtraOptions = {};
    if (this.options.userxattr) o.userxattr = true;
    if (this.features.index && !this.mountCtx.mountProgram) o.index = 'off';
    if (extra.length > 0) o.extra = extra;
    return o;
  }

  async get(id: string, opts: GetOptions = {}): Promise<string> {
    const r = await this.resolve(id);
    const { layer } = r;
    if (layer.lowers.length === 0) return layer.diff; // a base layer is never mounted
    await this.store.refs.acquire(id, async () => {
      if (this.sys.isMountpoint(layer.merged)) this.sys.umount2(layer.merged, MNT_DETACH); // stale
      const wanted = [...this.options.mountOptions, ...(opts.options ?? [])];
      const split = splitMountFlags(wanted);
      const resolved = await this.lowerDirs(r);
      // Lowers as short `<home>/l/<ID>` paths when the chain lives in our store: shorter data for the
      // absolute strategy, and the same names relative to home for the link-relative one.
      const relative =
        r.store === this.store &&
        !this.mountCtx.mountProgram &&
        layer.lowers.every((l) => !l.startsWith('/'));
      const lowers = relative ? layer.lowers.map((l) => join(r.store.home, l)) : resolved;
      const readOnly = opts.readOnly === true || r.readOnly;
      const m: LayerMount = {
        target: layer.merged,
        home: r.store.home,
        lowers: readOnly ? [layer.diff, ...lowers] : lowers,
        options: this.extraOptions(this.mountCtx.mountProgram ? wanted : split.data),
      };
      if (relative) m.linkNames = readOnly ? [`${id}/diff`, ...layer.lowers] : layer.lowers;
      if (!readOnly) {
        m.upper = layer.diff;
        m.work = layer.work;
        // overlay leaves this after a volatile mount and then refuses the next mount of the upper
        await fsp.rm(join(layer.work, 'work', 'incompat', 'volatile'), { recursive: true, force: true });
      }
      if (opts.mountLabel) m.label = opts.mountLabel;
      const strategy = await mountLayer(this.mountCtx, m);
      if (!this.mountCtx.mountProgram) {
        try {
          applyMountFlags(this.sys, layer.merged, split.flags);
        } catch (err) {
          this.sys.umount2(layer.merged, MNT_DETACH);
          throw err;
        }
      }
      this.strategies.set(id, strategy);
      this.lastStrategy = strategy;
    });
    this.held.set(id, (this.held.get(id) ?? 0) + 1);
    return layer.merged;
  }

  async put(id: string): Promise<void> {
    const r = await this.resolve(id);
    if (r.layer.lowers.length === 0) return;
    await this.store.refs.release(id, async () => {
      if (!this.sys.isMountpoint(r.layer.merged)) return;
      try {
        this.sys.umount2(r.layer.merged);
      } catch {
        this.sys.umount2(r.layer.merged, MNT_DETACH); // busy: detach, the kernel frees it when unused
      }
    });
    const n = (this.held.get(id) ?? 0) - 1;
    if (n > 0) this.held.set(id, n);
    else this.held.delete(id);
  }

  async remove(id: string): Promise<void> {
    if (!(await this.store.exists(id))) {
      for (const other of this.imageStores) {
        if (await other.exists(id)) {
          throw new OverlayError(
            'ERR_OVL_READ_ONLY_LAYER',
            `layer ${id} lives in the read-only image store ${other.home}; remove it there`,
            { path: id },
          );
        }
      }
      // also safe on a half-created layer: the store's remove deletes whatever is there
      await this.store.remove(id).catch((err) => {
        if (!(err instanceof StoreError)) throw err;
      });
      return;
    }
    await this.store.refs.withLock(id, async () => {
      const merged = join(this.store.home, id, 'merged');
      if (this.sys.isMountpoint(merged)) this.sys.umount2(merged, MNT_DETACH);
    });
    const projid = this.projectOf(id);
    // xfs refuses (EXDEV) to rename a dir of another project into a PROJINHERIT home, which the
    // store's remove does: hand the layer dir the home's project first.
    if (projid !== undefined)
      this.sys.setProjectId(this.store.dir(id), this.sys.getProjectId(this.store.home), false);
    await this.store.remove(id);
    if (projid !== undefined)
      (await this.projectQuotas(`remove ${id}`).catch(() => undefined))?.release(id, projid);
    this.held.delete(id);
    this.strategies.delete(id);
  }

  async status(): Promise<Array<[string, string]>> {
    const f = this.features;
    return [
      ['Backing Filesystem', this.backingFs],
      ['Supports d_type', String(this.dType)],
      ['Native Overlay Diff', f.nativeDiff ? 'true' : `false (${f.nativeDiffReason ?? 'unknown'})`],
      ['Using metacopy', 'false'],
      ['Kernel lowerdir+', String(f.lowerdirPlus)],
      ['Kernel FSCONFIG_SET_FD', String(f.setFd)],
      ['Supports userxattr', String(f.userxattr)],
      ['Supports volatile', String(f.volatile)],
      [
        'Mount strategy',
        this.mountCtx.mountProgram ? `mount_program ${this.mountCtx.mountProgram}` : this.mountCtx.strategy,
      ],
      ['Last mount strategy', this.lastStrategy],
      ['Max depth', String(this.store.maxDepth)],
      ['Page size', String(this.mountCtx.pageSize)],
      ['Image stores', this.imageStores.map((s) => s.home).join(',') || 'none'],
      ['Project quotas', await this.quotaStatus()],
      ['Layers', String((await this.store.list()).length)],
    ];
  }

  private async quotaStatus(): Promise<string> {
    if (this.backingFs !== 'xfs')
      return `false (${this.backingFs} has none; size needs xfs with -o prjquota)`;
    try {
      const q = await this.projectQuotas('status');
      const dflt = this.options.size ? `, default size ${this.options.size} bytes` : '';
      return `true (xfs on ${q.blockDevice}, project IDs above ${q.baseId}, ${q.projects.size} limited layers${dflt})`;
    } catch (err) {
      return `false (${(this.quotaState as Error | undefined)?.message ?? (err as Error).message})`;
    }
  }

  async metadata(id: string): Promise<Record<string, string>> {
    const r = await this.resolve(id);
    const meta: Record<string, string> = {
      WorkDir: r.layer.work,
      MergedDir: r.layer.merged,
      UpperDir: r.layer.diff,
    };
    const lowers = await this.lowerDirs(r);
    if (lowers.length > 0) meta.LowerDir = lowers.join(':');
    return meta;
  }

  /** Drops this process's references (unmounting at zero) and clears stale mounts. */
  async cleanup(): Promise<void> {
    for (const [id, n] of [...this.held]) for (let i = 0; i < n; i++) await this.put(id).catch(() => {});
    await this.store.repair();
  }

  diff(id: string, parent?: string): Readable {
    return diffOps.diff(this, id, parent);
  }

  applyDiff(
    id: string,
    parent: string | undefined,
    layer: Readable | AsyncIterable<Uint8Array>,
  ): Promise<number> {
    return diffOps.applyDiff(this, id, parent, layer);
  }

  changes(id: string, parent?: string) {
    return diffOps.changes(this, id, parent);
  }

  diffSize(id: string, parent?: string): Promise<number> {
    return diffOps.diffSize(this, id, parent);
  }
}
