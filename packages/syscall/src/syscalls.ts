// The mount-related calls as one object type, so that the layer drivers can take a `Syscalls`
// and their tests can hand them the recording implementation instead of the kernel.
import type { MountPlan } from '@ovl/mountopts';
import { chroot, getPageSize, mount, umount2 } from './mount.js';
import { isMountpoint, type MountInfo, readMountinfo } from './mountinfo.js';
import { hasNewMountApi, type OverlayMountFeatures, probeOverlayFeatures } from './new-mount-api.js';
import { nativeStepRunner, runPlanWith } from './run-plan.js';
import { type StatFs, statfs } from './statfs.js';
import {
  getProjectId,
  getProjectQuota,
  getQuotaState,
  type ProjectQuota,
  type ProjectQuotaLimits,
  type QuotaState,
  setProjectId,
  setProjectQuota,
} from './xfs-quota.js';

export interface Syscalls {
  mount(source: string, target: string, fstype: string, flags?: number, data?: string): void;
  umount2(target: string, flags?: number): void;
  chroot(path: string): void;
  getPageSize(): number;
  statfs(path: string): StatFs;
  runPlan(plan: MountPlan): Promise<void>;
  readMountinfo(): MountInfo[];
  isMountpoint(path: string): boolean;
  hasNewMountApi(): boolean;
  probeOverlayFeatures(): OverlayMountFeatures;
  /** xfs project quotas (xfs-quota.ts): a directory's project ID, a project's limits and usage */
  getProjectId(dir: string): number;
  setProjectId(dir: string, projid: number, inherit?: boolean): void;
  setProjectQuota(blockDevice: string, projectId: number, limits: ProjectQuotaLimits): void;
  getProjectQuota(blockDevice: string, projectId: number): ProjectQuota;
  getQuotaState(blockDevice: string): QuotaState;
}

/** The real thing: every call goes to the kernel. */
export const nativeSyscalls: Syscalls = {
  mount,
  umount2,
  chroot,
  getPageSize,
  statfs,
  runPlan: (plan) => runPlanWith(plan, nativeStepRunner()),
  readMountinfo: () => readMountinfo(),
  isMountpoint,
  hasNewMountApi,
  probeOverlayFeatures,
  getProjectId,
  setProjectId,
  setProjectQuota,
  getProjectQuota,
  getQuotaState,
};
