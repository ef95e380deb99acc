import { promises as fsp, statSync } from 'node:fs';
import { join } from 'node:path';
import { type DriverOptions, parseDriverOptions } from '@ovl/mountopts';
import { hiddenName, OverlayStore, STAGING_PREFIX } from '@ovl/store';
import { MNT_DETACH, nativeSyscalls, type Syscalls } from '@ovl/syscall';
import type { OverlayDriverOptions } from './driver-options.js';
import { OverlayError } from './errors.js';
import { type OverlayKernelFeatures, probeKernelFeatures } from './kernel-features.js';
import { splitMountFlags } from './mount-flags.js';
import type { MountContext } from './mount-layer.js';
import { checkBackingFs, overlayInKernel, supportsDType } from './support.js';

/** Everything init finds out, handed to the driver. */
export interface DriverParts {
  store: OverlayStore;
  imageStores: OverlayStore[];
  features: OverlayKernelFeatures;
  backingFs: string;
  dType: boolean;
  sys: Syscalls;
  options: DriverOptions;
  mountCtx: MountContext;
}

// Probed once per process for each (filesystem, options): the kernel does not change under us, and
// every probe is six test mounts. Injected syscalls (tests) always probe.
const probed = new Map<string, OverlayKernelFeatures>();

function probeOnce(
  sys: Syscalls,
  home: string,
  extra: string,
  userxattr: boolean,
  cache: boolean,
): OverlayKernelFeatures {
  const key = `${statSync(home).dev}|${extra}|${userxattr}`;
  const hit = cache ? probed.get(key) : undefined;
  if (hit) return hit;
  const features = probeKernelFeatures(
    sys,
    join(home, hiddenName(STAGING_PREFIX, 'probe')),
    extra,
    userxattr,
  );
  if (cache) probed.set(key, features);
  return features;
}

/**
 * The checks and probes of OverlayDriver.init: overlay in the kernel, the backing filesystem, the
 * options, the store (opened and repaired), the image stores, and the kernel's overlay features.
 */
export async function prepareDriver(home: string, opts: OverlayDriverOptions): Promise<DriverParts> {
  const sys = opts.syscalls ?? nativeSyscalls;
  const debug =
    opts.debug ?? (process.env.OVL_DEBUG ? (m: string) => console.error(`[ovl:overlay] ${m}`) : () => {});
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  const options = opts.parsed ?? parseDriverOptions(opts.driverOptions ?? [], 'overlay');
  if (!options.mountProgram && !options.overrideKernelCheck && !overlayInKernel()) {
    throw new OverlayError(
      'ERR_OVL_NOT_SUPPORTED',
      'the kernel has no overlay filesystem (not in /proc/filesystems after modprobe overlay); load the module or set overlay.mount_program',
    );
  }
  await fsp.mkdir(home, { recursive: true, mode: 0o700 });
  const st = checkBackingFs(home, sys);
  const dType = supportsDType(home, st.fsName);
  if (!dType)
    warn(
      `overlay: ${home} (${st.fsName}) has no d_type support; whiteouts may be lost — reformat xfs with ftype=1`,
    );
  if (options.size !== undefined) {
    // Quotas need xfs project quotas (FS_IOC_FSSETXATTR + quotactl); not implemented yet, and the
    // test kernel here has no xfs quota support to test them against.
    const why =
      st.fsName === 'xfs'
        ? 'per-layer xfs project quotas are not implemented by this driver yet'
        : `it needs xfs project quotas, but ${home} is on ${st.fsName}`;
    throw new OverlayError(
      'ERR_OVL_NOT_SUPPORTED',
      `overlay.size=${options.size}: ${why}; drop overlay.size or put the store on xfs mounted with pquota`,
      { path: home },
    );
  }
  const unmount = (p: string) => {
    try {
      sys.umount2(p, MNT_DETACH);
    } catch (err) {
      if ((err as { code?: string }).code !== 'EINVAL') throw err; // already unmounted by someone else
    }
  };
  const storeOpts = { unmount, ...(opts.maxDepth !== undefined ? { maxDepth: opts.maxDepth } : {}) };
  const store = await OverlayStore.open(home, storeOpts);
  const imageStores: OverlayStore[] = [];
  for (const dir of options.imageStores)
    imageStores.push(await OverlayStore.open(dir, { ...storeOpts, repair: false }));
  const dataOptions = splitMountFlags(options.mountOptions).data;
  const extra = dataOptions.length > 0 ? `,${dataOptions.join(',')}` : '';
  const features = options.mountProgram
    ? {
        lowerdirPlus: false,
        setFd: false,
        userxattr: false,
        metacopy: false,
        redirectDir: false,
        volatile: false,
        index: false,
        nativeDiff: false,
        nativeDiffReason: 'mount_program is used',
      }
    : probeOnce(sys, home, extra, options.userxattr ?? false, opts.syscalls === undefined);
  debug(`features ${JSON.stringify(features)}`);
  const mountCtx: MountContext = {
    sys,
    pageSize: sys.getPageSize(),
    kernel: { lowerdirPlus: features.lowerdirPlus, setFd: features.setFd },
    strategy: opts.strategy ?? 'auto',
    debug,
  };
  if (options.mountProgram) mountCtx.mountProgram = options.mountProgram;
  return { store, imageStores, features, backingFs: st.fsName, dType, sys, options, mountCtx };
}
