import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { parseDriverOptions } from '@ovl/mountopts';
import { AufsStore, StoreError } from '@ovl/store';
import { MNT_DETACH, nativeSyscalls, type Syscalls } from '@ovl/syscall';
import { type Change, changes as tarChanges, diff as tarDiff } from '@ovl/tar';
import { applyStaged } from './apply-staged.js';
import { probeDirperm1 } from './dirperm1.js';
import type { CreateOptions, Driver, GetOptions } from './driver-types.js';
import { AufsError } from './errors.js';
import { mountAufsStack, unmountAufs } from './mount.js';
import { stagingPath } from './staging-name.js';
import { assertAufsSupported } from './support.js';
import { treeSize } from './tree-size.js';

export interface AufsDriverOptions {
  /** the mount layer; default the real kernel. Tests pass @ovl/syscall's createRecordingSyscalls(). */
  syscalls?: Syscalls;
  /** skip `modprobe aufs` and the /proc/filesystems check (tests with recorded syscalls) */
  assumeSupported?: boolean;
  /** where the support check reads the file-system list (default /proc/filesystems) */
  procFilesystems?: string;
  /** the xino file every mount names (default `/dev/shm/aufs.xino`, as Docker) */
  xino?: string;
  /** add `dirperm1`; 'auto' (default) probes the running aufs once at init with a throw-away mount */
  dirperm1?: boolean | 'auto';
  /** page size the mount data must fit (default: the running kernel's, from `syscalls`) */
  pageSize?: number;
  /** deepest stack, layer plus parents (default 127, aufs's usual CONFIG_AUFS_BRANCH_MAX_127) */
  maxDepth?: number;
  /**
   * options in Docker's spelling, `aufs.dirperm1=true`, `aufs.xino=/path` (parsed by @ovl/mountopts'
   * parseDriverOptions; unknown keys throw ERR_OVL_BAD_OPTION). The fields above win over them.
   */
  driverOptions?: string[];
}

/**
 * Docker's aufs graph driver on @ovl/store's aufs layout (`layers/<id>`, `diff/<id>`, `mnt/<id>`). Only
 * layers with parents are mounted; a base layer's `get` returns its diff dir. Every mount call goes through
 * the injected Syscalls, so the driver runs against a recorder on kernels without aufs.
 */
export class AufsDriver implements Driver {
  readonly name = 'aufs';

  private constructor(
    readonly store: AufsStore,
    private readonly syscalls: Syscalls,
    private readonly xino: string | undefined,
    readonly dirperm1: boolean,
    private readonly pageSize: number,
  ) {}

  get home(): string {
    return this.store.home;
  }

  /**
   * Checks that the kernel has aufs (ERR_OVL_NOT_SUPPORTED otherwise), opens the layout and lets the store
   * repair what a crash left: half-removed or half-created layers, stale staging dirs, mounts nobody holds.
   */
  static async init(home: string, options: AufsDriverOptions = {}): Promise<AufsDriver> {
    const parsed = parseDriverOptions(options.driverOptions ?? [], 'aufs');
    const xino = options.xino ?? parsed.xino;
    const wantDirperm1 = options.dirperm1 ?? parsed.dirperm1;
    if (!options.assumeSupported) await assertAufsSupported({ procFilesystems: options.procFilesystems });
    const syscalls = options.syscalls ?? nativeSyscalls;
    const store = await AufsStore.open(home, {
      maxDepth: options.maxDepth,
      unmount: (p) => syscalls.umount2(p, MNT_DETACH),
    });
    const dirperm1 =
      wantDirperm1 === undefined || wantDirperm1 === 'auto'
        ? await probeDirperm1(join(store.home, 'mnt'), syscalls)
        : wantDirperm1;
    const pageSize = options.pageSize ?? syscalls.getPageSize();
    return new AufsDriver(store, syscalls, xino, dirperm1, pageSize);
  }

  async create(id: string, parent?: string, _opts?: CreateOptions): Promise<void> {
    await this.store.create(id, parent === '' ? undefined : parent);
  }

  createReadWrite(id: string, parent?: string, opts?: CreateOptions): Promise<void> {
    return this.create(id, parent, opts);
  }

  exists(id: string): Promise<boolean> {
    return this.store.exists(id);
  }

  /**
   * Unmounts the layer if mounted, then the store drops `layers/<id>` and renames diff and mnt out of sight
   * before deleting them. Removing a layer that does not exist is not an error (as in the overlay driver),
   * and also deletes whatever a half-done create left under that ID.
   */
  async remove(id: string): Promise<void> {
    const mnt = this.store.paths(id).mnt;
    await this.store.refs.withLock(id, async () => {
      if (this.syscalls.isMountpoint(mnt)) unmountAufs(this.syscalls, mnt, id);
    });
    await this.store.remove(id);
  }

  /**
   * The layer's root: its diff dir for a base layer, else `mnt/<id>` with the aufs stack mounted there by the
   * first `get` (later ones only count).
   */
  async get(id: string, opts: GetOptions = {}): Promise<string> {
    if (opts.options && opts.options.length > 0) {
      throw new AufsError(
        'ERR_OVL_BAD_OPTION',
        `extra mount options ${JSON.stringify(opts.options)} are not supported by the aufs driver; ` +
          'mount without them (use readOnly for a read-only stack)',
        { id },
      );
    }
    const layer = await this.store.layer(id);
    if (layer.parents.length === 0) return layer.diff; // a base layer is never mounted, nor counted
    await this.store.refs.acquire(id, async () => {
      // nobody holds it: a mount still there is stale (a crashed process), and may carry other options
      if (this.syscalls.isMountpoint(layer.mnt)) this.syscalls.umount2(layer.mnt, MNT_DETACH);
      await mkdir(layer.mnt, { recursive: true, mode: 0o755 });
      await mountAufsStack({
        target: layer.mnt,
        rw: layer.diff,
        ro: layer.parents.map((p) => this.store.paths(p).diff),
        label: opts.mountLabel || undefined,
        dirperm1: this.dirperm1,
        xino: this.xino,
        pageSize: this.pageSize,
        syscalls: this.syscalls,
        readOnly: opts.readOnly === true,
      });
    });
    return layer.mnt;
  }

  /**
   * Drops one of this process's references; the last one unmounts. A busy mount is detached (MNT_DETACH: the
   * kernel frees it when its last user goes), as the overlay driver does. A base layer, or one this process
   * does not hold, is left alone.
   */
  async put(id: string): Promise<void> {
    const layer = await this.store.layer(id);
    if (layer.parents.length === 0) return;
    await this.store.refs.release(id, async () => {
      if (!this.syscalls.isMountpoint(layer.mnt)) return;
      try {
        this.syscalls.umount2(layer.mnt, 0);
      } catch {
        unmountAufs(this.syscalls, layer.mnt, id, MNT_DETACH);
      }
    });
  }

  async status(): Promise<Array<[string, string]>> {
    let backing = 'unknown';
    try {
      backing = this.syscalls.statfs(this.home).fsName;
    } catch {}
    return [
      ['Root Dir', this.home],
      ['Backing Filesystem', backing],
      ['Dirs', String((await this.store.list()).length)],
      ['Dirperm1 Supported', String(this.dirperm1)],
    ];
  }

  async metadata(id: string): Promise<Record<string, string>> {
    const layer = await this.store.layer(id);
    return {
      DiffDir: layer.diff,
      MergedDir: layer.parents.length > 0 ? layer.mnt : layer.diff,
      LowerDir: layer.parents.map((p) => this.store.paths(p).diff).join(':'),
      Parents: layer.parents.join(','),
    };
  }

  /** Unmounts every mounted layer of this store, whoever mounted it, and forgets their references. */
  async cleanup(): Promise<void> {
    const failures: unknown[] = [];
    for (const id of await this.store.list()) {
      const mnt = this.store.paths(id).mnt;
      if (!this.syscalls.isMountpoint(mnt)) continue;
      try {
        unmountAufs(this.syscalls, mnt, id);
        await this.store.refs.clear(id);
      } catch (err) {
        failures.push(err);
      }
    }
    if (failures.length > 0) {
      throw new AufsError(
        'ERR_OVL_UNMOUNT_FAILED',
        `${failures.length} aufs mount(s) could not be unmounted; stop the processes using them and retry cleanup`,
        { cause: new AggregateError(failures) },
      );
    }
  }

  /**
   * The layer as a tar: its diff dir as it is, `.wh.` whiteouts and `.wh..wh..opq` included, aufs's own
   * `.wh..wh.*` metadata left out. `parent` is ignored: an aufs diff dir already is the delta.
   */
  diff(id: string, _parent?: string): Readable {
    const p = this.store.paths(id);
    if (!existsSync(p.layersFile)) {
      // the same failure store.layer() reports, thrown synchronously because diff returns a stream
      throw new StoreError('ERR_OVL_LAYER_NOT_FOUND', `layer ${id} does not exist in ${this.home}`, {
        path: id,
      });
    }
    return tarDiff({ upper: p.diff, format: 'aufs' });
  }

  /** Applies a layer tar into the diff dir (whiteouts kept as `.wh.` files); returns the layer's size. */
  async applyDiff(
    id: string,
    _parent: string | undefined,
    layer: Readable | AsyncIterable<Uint8Array>,
  ): Promise<number> {
    const p = await this.store.layer(id);
    await applyStaged(layer, p.diff, stagingPath(join(this.home, 'diff'), `apply-${id}`));
    return this.diffSize(id);
  }

  async diffSize(id: string, _parent?: string): Promise<number> {
    return treeSize((await this.store.layer(id)).diff);
  }

  /** What the layer changes against its parents' diff dirs (aufs whiteouts read as deletions). */
  async changes(id: string, _parent?: string): Promise<Change[]> {
    const layer = await this.store.layer(id);
    return tarChanges(
      layer.parents.map((p) => this.store.paths(p).diff),
      layer.diff,
      { format: 'aufs' },
    );
  }
}
