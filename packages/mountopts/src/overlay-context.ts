// What every overlay strategy needs to know, checked once, and how a strategy reports back.

import type { OverlayOption } from './overlay-options.js';
import type { MountPlan } from './plan.js';

export interface LinkNames {
  /** the store home; the working directory (and root, with chroot) of link-relative mounts */
  home: string;
  /** a short name relative to `home` for each lower layer, parallel to `lowers`, e.g. `l/<ID>` */
  names: string[];
  /** chroot into `home` as well as chdir (every path in the data must then lie inside it) */
  chroot?: boolean;
}

export interface KernelFeatures {
  /** fsconfig `lowerdir+`/`datadir+` (Linux 6.8+) */
  lowerdirPlus?: boolean;
  /** FSCONFIG_SET_FD for layer parameters (Linux 6.13+; implies lowerdirPlus) */
  setFd?: boolean;
}

/** Validated input shared by the strategies. */
export interface OverlayContext {
  source: string;
  target: string;
  lowers: string[];
  dataOnly: string[];
  upper?: string;
  work?: string;
  label?: string;
  options: OverlayOption[];
  pageSize: number;
  kernel: KernelFeatures;
  links?: LinkNames;
}

/** A strategy either returns a plan or says why it cannot, with the bytes it would have needed. */
export type Attempt =
  | { ok: true; plan: MountPlan }
  | { ok: false; reason: string; dataBytes?: number; path?: string; badOption?: boolean };

/** `p` relative to `home` when it lies inside it (`.` for home itself), else undefined. */
export function relativeTo(home: string, p: string): string | undefined {
  const base = home.replace(/\/+$/, '');
  if (p === base || p === `${base}/`) return '.';
  if (base === '') return p.replace(/^\/+/, '') || '.';
  if (p.startsWith(`${base}/`)) return p.slice(base.length + 1).replace(/^\/+/, '') || '.';
  return undefined;
}
