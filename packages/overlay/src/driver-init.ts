import { promises as fsp, statSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { type DriverOptions, parseDriverOptions } from '@ovl/mountopts';
import { hiddenName, OverlayStore, STAGING_PREFIX } from '@ovl/store';
import { MNT_DETACH, nativeSyscalls, type Syscalls } from '@ovl/syscall';
import type { OverlayDriverOptions } from './driver-options.js';
import { OverlayError } from './errors.js';
import { type OverlayKernelFeatures, probeKernelFeatures } from './kernel-features.js';
import { splitMountFlags } from './mount-flags.js';
import type { MountContext } from './mount-layer.js';
import { ProjectQuotas } from './project-quota.js';
import { checkBackingFs, checkUserXattrs, overlayInKernel, supportsDType } from './support.js';

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
  /** set when overlay.size asked for project quotas at init */
  quotas?: ProjectQuotas;
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
  if (options.userxattr && !options.mountProgram)
    checkUserXattrs(home, st.fsName, hiddenName(STAGING_PREFIX, 'xattr-probe'));
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
  // A default size needs quotas now; without one they are checked on the first create that asks.
  let quotas: ProjectQuotas | undefined;
  if (options.size) {
    try {
      quotas = await ProjectQuotas.open(store, st.fsName, sys);
    } catch (err) {
      if (!(err instanceof OverlayError)) throw err;
      throw new OverlayError('ERR_OVL_NOT_SUPPORTED', `overlay.size=${options.size}: ${err.message}`, {
        path: home,
        cause: err.cause ?? err,
      });
    }
    debug(`project quotas on ${quotas.blockDevice}, IDs above ${quotas.baseId}`);
  }
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
  if (opts.strategy === 'fsconfig' && !features.lowerdirPlus && !features.setFd) {
    // Forced, it would fail at the first deep mount with a bare EINVAL from the kernel's legacy shim.
    throw new OverlayError(
      'ERR_OVL_NOT_SUPPORTED',
      `strategy 'fsconfig' needs overlayfs' lowerdir+ (Linux 6.8+), which this kernel (${release()}) lacks; use 'auto' or 'fd-relative'`,
    );
  }
  const mountCtx: MountContext = {
    sys,
    pageSize: sys.getPageSize(),
    kernel: { lowerdirPlus: features.lowerdirPlus, setFd: features.setFd },
    strategy: opts.strategy ?? 'auto',
    debug,
  };
  if (options.mountProgram) mountCtx.mountProgram = options.mountProgram;
  const parts: DriverParts = {
    store,
    imageStores,
    features,
    backingFs: st.fsName,
    dType,
    sys,
    options,
    mountCtx,
  };
  if (quotas) parts.quotas = quotas;
  return parts;
}
