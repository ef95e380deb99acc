// The overlay mount(2) data string: `lowerdir=A:B[::D],upperdir=U,workdir=W[,options][,context="label"]`.
// Layers are given top first, as the kernel reads them (the leftmost lower is the uppermost).

import { MountOptsError } from './errors.js';
import { checkMountPath, escapeOverlayPath } from './escape.js';
import { formatMountLabel } from './label.js';
import {
  formatOption,
  type OverlayExtraOptions,
  type OverlayOption,
  resolveOverlayOptions,
} from './overlay-options.js';

export interface OverlayDataOptions {
  /** lower layer directories, top first */
  lowers: string[];
  /** upper (writable) directory; omit for a read-only mount */
  upper?: string;
  /** work directory on the same filesystem as `upper`; required with it */
  work?: string;
  /** data-only lower layers (Linux 6.5+), written after `::`; reachable only through metacopy redirects */
  dataOnlyLowers?: string[];
  /** SELinux mount label */
  label?: string;
  options?: OverlayExtraOptions;
}

/** Refuse layer combinations the kernel refuses, before any path is looked at. */
export function checkOverlayLayout(o: {
  lowers: string[];
  upper?: string;
  work?: string;
  dataOnlyLowers?: string[];
}): void {
  if (o.lowers.length === 0) {
    throw new MountOptsError(
      'ERR_OVL_BAD_OPTION',
      'overlay needs at least one lower layer; mount a single layer directly (bind) instead',
      { option: 'lowerdir' },
    );
  }
  if (o.upper !== undefined && o.work === undefined) {
    throw new MountOptsError(
      'ERR_OVL_BAD_OPTION',
      'upperdir needs a workdir on the same filesystem; pass work',
      {
        option: 'workdir',
      },
    );
  }
  const all = [...o.lowers, ...(o.dataOnlyLowers ?? [])];
  if (o.upper === undefined && all.length < 2) {
    throw new MountOptsError(
      'ERR_OVL_BAD_OPTION',
      'overlayfs needs at least 2 lower layers without an upper dir; bind-mount a single layer read-only instead',
      { option: 'lowerdir' },
    );
  }
  const seen = new Set<string>();
  for (const p of all) {
    // The kernel refuses a layer named twice ("conflicting lowerdir path", ELOOP).
    if (seen.has(p)) {
      throw new MountOptsError(
        'ERR_OVL_BAD_PATH',
        `layer "${p}" is named twice; each layer may appear once`,
        {
          path: p,
        },
      );
    }
    seen.add(p);
  }
  if (o.work !== undefined && o.upper === undefined) {
    throw new MountOptsError(
      'ERR_OVL_BAD_OPTION',
      'workdir without upperdir is ignored by overlayfs; pass upper too, or drop work for a read-only mount',
      { option: 'workdir' },
    );
  }
}

/**
 * Assemble data from already-escaped tokens. The planners call this with absolute paths, `l/<ID>` names
 * or `{{fd:N}}` placeholders; the layout has been checked by then.
 */
export function composeOverlayData(
  lowerTokens: string[],
  dataOnlyTokens: string[],
  upperToken: string | undefined,
  workToken: string | undefined,
  options: OverlayOption[],
  label: string | undefined,
): string {
  let lowerdir = lowerTokens.join(':');
  if (dataOnlyTokens.length > 0) lowerdir += `::${dataOnlyTokens.join('::')}`;
  const parts = [`lowerdir=${lowerdir}`];
  if (upperToken !== undefined) parts.push(`upperdir=${upperToken}`);
  if (workToken !== undefined) parts.push(`workdir=${workToken}`);
  for (const o of options) parts.push(formatOption(o));
  return formatMountLabel(parts.join(','), label);
}

/**
 * The overlay mount data for these layers, escaped by the kernel's rules. Paths may be relative here (the
 * kernel resolves them against the mounting process's working directory); the planner requires absolute.
 */
export function overlayData(opts: OverlayDataOptions): string {
  checkOverlayLayout(opts);
  const dataOnly = opts.dataOnlyLowers ?? [];
  for (const [i, p] of opts.lowers.entries()) checkMountPath(p, `lower layer ${i}`, { absolute: false });
  for (const [i, p] of dataOnly.entries()) checkMountPath(p, `data-only layer ${i}`, { absolute: false });
  if (opts.upper !== undefined) checkMountPath(opts.upper, 'upperdir', { absolute: false });
  if (opts.work !== undefined) checkMountPath(opts.work, 'workdir', { absolute: false });
  return composeOverlayData(
    opts.lowers.map(escapeOverlayPath),
    dataOnly.map(escapeOverlayPath),
    opts.upper === undefined ? undefined : escapeOverlayPath(opts.upper),
    opts.work === undefined ? undefined : escapeOverlayPath(opts.work),
    resolveOverlayOptions(opts.options, { upper: opts.upper !== undefined, dataOnly: dataOnly.length > 0 }),
    opts.label,
  );
}
