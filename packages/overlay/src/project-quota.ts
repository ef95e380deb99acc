// `size` for overlay layers: xfs project quotas, as containers/storage's drivers/quota does it. Each
// limited layer gets its own project ID on its layer dir and on diff/work/merged (with PROJINHERIT,
// so what overlay writes to the upper — and copies up through work — carries it), and quotactl sets
// the block hard and soft limit of that project. Project IDs of one store start above the store
// home's own project ID (an admin may give the home one with xfs_quota, reserving a range), or,
// when it has none, above one derived from the home's inode, keeping 10000 IDs per home apart.
import { constants, promises as fsp, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseHumanSize } from '@ovl/mountopts';
import type { OverlayLayerPaths, OverlayStore } from '@ovl/store';
import { withFileLock } from '@ovl/store';
import { mknod, type ProjectQuota, type Syscalls, splitDev } from '@ovl/syscall';
import { OverlayError } from './errors.js';

const PROJECT_IDS_PER_HOME = 10_000n;
const MAX_PROJECT_ID = 0xffff_ffffn;
/** The block device node made in the home when mountinfo names no usable one (containers/storage's). */
export const BACKING_DEV_NODE = '.backingFsBlockDev';
const LOCK_FILE = '.project-quota.lock';
const PROBE_BYTES = 1 << 20;

/**
 * The first ID of a home's range minus one: the home's own project ID when it has one, else one
 * derived from its inode (containers/storage's generateUniqueProjectID), stable across restarts.
 */
export function baseProjectId(home: string, sys: Pick<Syscalls, 'getProjectId'>): number {
  const own = sys.getProjectId(home);
  if (own !== 0) return own;
  const ino = statSync(home, { bigint: true }).ino;
  return Number(
    PROJECT_IDS_PER_HOME + ((ino * PROJECT_IDS_PER_HOME) % (MAX_PROJECT_ID - PROJECT_IDS_PER_HOME)),
  );
}

/**
 * The block device quotactl must be given for the file system holding `home`: the mount's source
 * from mountinfo when it is that device (st_rdev equals the home's st_dev), else a device node
 * made in the home, as containers/storage does (for loop files in containers, /dev/root, …).
 */
export function backingBlockDevice(home: string, sys: Pick<Syscalls, 'readMountinfo'>): string {
  const st = statSync(home);
  const { major, minor } = splitDev(st.dev);
  for (const m of sys.readMountinfo()) {
    if (m.major !== major || m.minor !== minor || !m.source.startsWith('/')) continue;
    try {
      const dev = statSync(m.source);
      if (dev.isBlockDevice() && dev.rdev === st.dev) return m.source;
    } catch {}
  }
  const node = join(home, BACKING_DEV_NODE);
  rmSync(node, { force: true }); // made again: the home may have been copied from another device
  mknod(node, constants.S_IFBLK | 0o600, st.dev);
  return node;
}

const notSupported = (home: string, why: string, cause?: unknown) =>
  new OverlayError('ERR_OVL_NOT_SUPPORTED', why, { path: home, cause });

/** `size` as a storage option gives it ('20M', '10G'; 0: no limit), else the driver's default. */
export function layerSize(perLayer: string | undefined, fallback: number | undefined): number | undefined {
  const bytes = perLayer === undefined ? fallback : parseHumanSize(perLayer);
  return bytes ? bytes : undefined;
}

/** The project quotas of one store: its block device, its range of project IDs, the IDs in use. */
export class ProjectQuotas {
  /** layer ID → project ID, for the limited layers of the store */
  readonly projects = new Map<string, number>();
  private next: number;

  private constructor(
    readonly home: string,
    readonly blockDevice: string,
    readonly baseId: number,
    private readonly sys: Syscalls,
  ) {
    this.next = baseId + 1;
  }

  /**
   * Checks that `home` is on xfs with project quotas counted and enforced, by setting a limit on a
   * free project ID and reading it back, and scans the store's layers for the IDs they hold.
   * Throws `ERR_OVL_NOT_SUPPORTED` saying why and what to do.
   */
  static async open(store: OverlayStore, fsName: string, sys: Syscalls): Promise<ProjectQuotas> {
    const home = store.home;
    if (fsName !== 'xfs') {
      throw notSupported(
        home,
        `per-layer quotas need xfs project quotas, but ${home} is on ${fsName}; put the store on xfs mounted with -o prjquota, or drop size`,
      );
    }
    let q: ProjectQuotas;
    try {
      q = new ProjectQuotas(home, backingBlockDevice(home, sys), baseProjectId(home, sys), sys);
    } catch (err) {
      throw notSupported(
        home,
        `cannot find the project ID or block device of ${home}: ${(err as Error).message}`,
        err,
      );
    }
    const where = `${home} (xfs on ${q.blockDevice})`;
    try {
      const state = sys.getQuotaState(q.blockDevice);
      if (!state.projectAccounting)
        throw notSupported(
          home,
          `project quotas are off on ${where}; mount it with -o prjquota (a remount cannot turn them on)`,
        );
      if (!state.projectEnforcement)
        throw notSupported(
          home,
          `project quotas are counted but not enforced on ${where} (pqnoenforce); mount it with -o prjquota`,
        );
      await q.scan();
      // set a limit on a free project and read it back, then lift it again
      sys.setProjectQuota(q.blockDevice, q.next, {
        blockHardLimit: PROBE_BYTES,
        blockSoftLimit: PROBE_BYTES,
      });
      const back = sys.getProjectQuota(q.blockDevice, q.next);
      sys.setProjectQuota(q.blockDevice, q.next, { blockHardLimit: 0, blockSoftLimit: 0 });
      if (back.blockHardLimit !== PROBE_BYTES)
        throw notSupported(
          home,
          `a project limit set on ${where} read back as ${back.blockHardLimit} bytes; check the file system's quota state with xfs_quota -x -c state`,
        );
    } catch (err) {
      if (err instanceof OverlayError) throw err;
      throw notSupported(
        home,
        `project quotas are not available on ${where}: ${(err as Error).message}`,
        err,
      );
    }
    return q;
  }

  /** Reads the project IDs of the store's layers; the counter moves past the highest. */
  private async scan(): Promise<void> {
    for (const name of await fsp.readdir(this.home)) {
      let id: number;
      try {
        if (!(await fsp.stat(join(this.home, name))).isDirectory()) continue;
        id = this.sys.getProjectId(join(this.home, name));
      } catch {
        continue; // removed meanwhile
      }
      if (id <= this.baseId) continue;
      if (!name.startsWith('.')) this.projects.set(name, id);
      if (id >= this.next) this.next = id + 1;
    }
  }

  /**
   * Gives a new layer the next free project ID and a block limit of `bytes` (hard and soft). Taken
   * under a lock in the home, after a rescan, so processes sharing the store never pick one ID twice.
   */
  async limit(layer: OverlayLayerPaths, bytes: number): Promise<number> {
    return withFileLock(join(this.home, LOCK_FILE), async () => {
      await this.scan();
      const id = this.next;
      if (id > Number(MAX_PROJECT_ID))
        throw notSupported(
          this.home,
          `no project IDs are left above ${this.baseId}; give the home a lower one with xfs_quota`,
        );
      for (const dir of [layer.dir, layer.diff, layer.work, layer.merged]) this.sys.setProjectId(dir, id);
      this.sys.setProjectQuota(this.blockDevice, id, { blockHardLimit: bytes, blockSoftLimit: bytes });
      this.projects.set(layer.id, id);
      this.next = id + 1;
      return id;
    });
  }

  /** Lifts the limits of a removed layer's project. */
  release(layerId: string, projectId: number): void {
    this.sys.setProjectQuota(this.blockDevice, projectId, { blockHardLimit: 0, blockSoftLimit: 0 });
    this.projects.delete(layerId);
  }

  /** The limits and usage of a project. */
  usage(projectId: number): ProjectQuota {
    return this.sys.getProjectQuota(this.blockDevice, projectId);
  }
}
