// A Syscalls that touches nothing: it records every call with its arguments and keeps a pretend
// mount table, so that code above (the overlay and aufs drivers) can be tested by what it asks
// the kernel to do — including rollback, by making a chosen call fail.
import { constants as osConstants } from 'node:os';
import type { MountPlan, MountStep } from '@ovl/mountopts';
import { MNT_DETACH, MS_MOVE, MS_REMOUNT } from './constants.js';
import { SyscallError } from './errors.js';
import type { MountInfo } from './mountinfo.js';
import type { OverlayMountFeatures } from './new-mount-api.js';
import { absoluteTarget, runPlanWith } from './run-plan.js';
import { fsNameOf, type StatFs } from './statfs.js';
import type { Syscalls } from './syscalls.js';
import type { ProjectQuota } from './xfs-quota.js';

export interface RecordedCall {
  /** 'mount', 'umount2', 'chroot', 'statfs', 'runPlan', 'fsconfig' (a whole fsconfig step), … */
  name: string;
  args: unknown[];
  /** for calls made by runPlan: the step they come from and its index */
  step?: MountStep;
  stepIndex?: number;
}

export interface RecordingOptions {
  /**
   * Called before each call is recorded as done. Throw to make the call fail, or return an errno
   * name ('EINVAL', 'EBUSY') to have a SyscallError thrown for it.
   */
  onCall?: (call: RecordedCall) => unknown;
  /** what getPageSize returns (4096) */
  pageSize?: number;
  /** what statfs reports: a filesystem name ('ext4') or a function of the path */
  fsName?: string | ((path: string) => string);
  /** what hasNewMountApi / probeOverlayFeatures report (all true) */
  newMountApi?: boolean;
  overlayFeatures?: OverlayMountFeatures;
  /** targets to treat as mounted from the start */
  mounted?: string[];
  /** what getQuotaState reports (project quotas counted and enforced) */
  quotaState?: { projectAccounting: boolean; projectEnforcement: boolean };
}

const fsMagic: Record<string, number> = {
  ext4: 0xef53,
  xfs: 0x58465342,
  tmpfs: 0x01021994,
  overlay: 0x794c7630,
};

export function createRecordingSyscalls(opts: RecordingOptions = {}): {
  syscalls: Syscalls;
  calls: RecordedCall[];
  /** the pretend mount table: target → fstype and data of its last mount */
  mounts: Map<string, { fstype: string; source: string; data: string }>;
  /** pretend project IDs (directory → ID) and project quotas (`<device>:<id>` → limits) */
  projectIds: Map<string, number>;
  quotas: Map<string, ProjectQuota>;
} {
  const calls: RecordedCall[] = [];
  const mounts = new Map<string, { fstype: string; source: string; data: string }>();
  for (const m of opts.mounted ?? []) mounts.set(m, { fstype: 'unknown', source: 'none', data: '' });
  const projectIds = new Map<string, number>();
  const quotas = new Map<string, ProjectQuota>();
  const quotaOf = (device: string, projectId: number): ProjectQuota =>
    quotas.get(`${device}:${projectId}`) ?? {
      projectId,
      blockHardLimit: 0,
      blockSoftLimit: 0,
      inodeHardLimit: 0,
      inodeSoftLimit: 0,
      blocksUsed: 0,
      inodesUsed: 0,
    };

  function record(call: RecordedCall): void {
    calls.push(call);
    const verdict = opts.onCall?.(call);
    if (typeof verdict === 'string') {
      const errno = (osConstants.errno as Record<string, number>)[verdict] ?? 5;
      const target = typeof call.args[1] === 'string' ? call.args[1] : String(call.args[0] ?? '');
      throw new SyscallError(errno, call.name, target, { what: `${call.name} '${target}' (recorded)` });
    }
  }

  const syscalls: Syscalls = {
    mount(source, target, fstype, flags = 0, data = '') {
      record({ name: 'mount', args: [source, target, fstype, flags, data] });
      if (!(flags & (MS_REMOUNT | MS_MOVE))) mounts.set(target, { fstype, source, data });
      else if (flags & MS_REMOUNT) {
        const m = mounts.get(target);
        if (m) m.data = data;
      }
    },
    umount2(target, flags = 0) {
      record({ name: 'umount2', args: [target, flags] });
      if (!mounts.delete(target)) {
        throw new SyscallError(22, 'umount2', target, {
          what: `umount2 '${target}': not mounted (recorded)`,
        });
      }
    },
    chroot(path) {
      record({ name: 'chroot', args: [path] });
    },
    getPageSize() {
      return opts.pageSize ?? 4096;
    },
    statfs(path): StatFs {
      record({ name: 'statfs', args: [path] });
      const name = typeof opts.fsName === 'function' ? opts.fsName(path) : (opts.fsName ?? 'ext4');
      const type = fsMagic[name] ?? 0;
      return {
        type,
        fsName: type ? fsNameOf(type) : name,
        bsize: 4096,
        blocks: 1 << 20,
        bfree: 1 << 19,
        bavail: 1 << 19,
        files: 1 << 20,
        ffree: 1 << 19,
        namelen: 255,
      };
    },
    async runPlan(plan: MountPlan) {
      record({ name: 'runPlan', args: [plan] });
      await runPlanWith(plan, {
        run(step, index) {
          const target = absoluteTarget(step);
          if (step.kind === 'fsconfig') {
            record({ name: 'fsconfig', args: [step.fstype, target, step.params], step, stepIndex: index });
            mounts.set(target, { fstype: step.fstype, source: step.source, data: '' });
            return;
          }
          record({
            name: 'mount',
            args: [step.source, target, step.fstype, step.flags, step.data],
            step,
            stepIndex: index,
          });
          if (step.flags & MS_REMOUNT) {
            const m = mounts.get(target);
            if (m) m.data = `${m.data}\n${step.data}`;
          } else mounts.set(target, { fstype: step.fstype, source: step.source, data: step.data });
        },
        detach(target) {
          syscalls.umount2(target, MNT_DETACH);
        },
      });
    },
    readMountinfo(): MountInfo[] {
      return [...mounts].map(([mountPoint, m], i) => ({
        mountId: 1000 + i,
        parentId: 1,
        major: 0,
        minor: 100 + i,
        root: '/',
        mountPoint,
        options: ['rw'],
        optionalFields: [],
        fstype: m.fstype,
        source: m.source,
        superOptions: m.data ? ['rw', ...m.data.split(',')] : ['rw'],
      }));
    },
    isMountpoint(path) {
      return mounts.has(path);
    },
    hasNewMountApi() {
      return opts.newMountApi ?? true;
    },
    probeOverlayFeatures() {
      return (
        opts.overlayFeatures ?? { lowerdirPlus: opts.newMountApi ?? true, setFd: opts.newMountApi ?? true }
      );
    },
    getProjectId(dir) {
      record({ name: 'getProjectId', args: [dir] });
      return projectIds.get(dir) ?? 0;
    },
    setProjectId(dir, projid, inherit = true) {
      record({ name: 'setProjectId', args: [dir, projid, inherit] });
      projectIds.set(dir, projid);
    },
    setProjectQuota(device, projectId, limits) {
      record({ name: 'setProjectQuota', args: [device, projectId, limits] });
      const q = { ...quotaOf(device, projectId) };
      const limitKeys = ['blockHardLimit', 'blockSoftLimit', 'inodeHardLimit', 'inodeSoftLimit'] as const;
      for (const k of limitKeys) {
        const v = limits[k];
        if (v !== undefined) q[k] = k.startsWith('block') ? Math.floor(v / 512) * 512 : v;
      }
      quotas.set(`${device}:${projectId}`, q);
    },
    getProjectQuota(device, projectId) {
      record({ name: 'getProjectQuota', args: [device, projectId] });
      return { ...quotaOf(device, projectId) };
    },
    getQuotaState(device) {
      record({ name: 'getQuotaState', args: [device] });
      return opts.quotaState ?? { projectAccounting: true, projectEnforcement: true };
    },
  };
  return { syscalls, calls, mounts, projectIds, quotas };
}
