// aufs mounts as Docker's aufs driver packs them. The first mount(2) carries `br:<rw>=rw:<ro>=ro+wh:...`
// with `dio,xino=/dev/shm/aufs.xino` (`,dirperm1`) and the label, taking whole branches while they fit in
// Docker's budget: page size − len(label) − 54 (− len("dirperm1") with dirperm1), the 54 being room for the
// options and `,context=""`. The remaining branches are added with MS_REMOUNT `append:<ro>=ro+wh` options,
// in order: packed so each remount fills a page (strategy `aufs`, as later Docker did) or one remount per
// branch (`aufs-append-each`, as the older driver did). aufs has no escape character, so `:`, `,` and `=`
// cannot appear in a branch path.

import { byteLength } from './byte-length.js';
import { checkDepth } from './depth.js';
import { MountOptsError } from './errors.js';
import { checkMountPath } from './escape.js';
import { checkMountLabel, formatMountLabel } from './label.js';
import { checkPageSize, DEFAULT_PAGE_SIZE } from './overlay-plan.js';
import { type MountCallStep, type MountPlan, MS_REMOUNT } from './plan.js';

export const AUFS_DEFAULT_XINO = '/dev/shm/aufs.xino';
/** Docker's room for `,dio,xino=/dev/shm/aufs.xino` and `,context=""` next to the branches. */
export const AUFS_OPTIONS_OFFSET = 54;

export interface PlanAufsOptions {
  target: string;
  /** the writable branch */
  rw: string;
  /** read-only branches, nearest parent first */
  ro: string[];
  label?: string;
  /** add `dirperm1` (aufs 3.x+: permission checks on the top directory only) */
  dirperm1?: boolean;
  /** the xino file (default /dev/shm/aufs.xino) */
  xino?: string;
  pageSize?: number;
  /** `auto` = `aufs` (pack each remount to a page); `aufs-append-each` = one remount per branch */
  strategy?: 'auto' | 'aufs' | 'aufs-append-each';
  /** refuse more read-only branches than this (the aufs module is often built for 127 branches) */
  maxDepth?: number;
}

function checkAufsPath(p: string, what: string): void {
  checkMountPath(p, what);
  const bad = /[:,=]/.exec(p);
  if (bad) {
    throw new MountOptsError(
      'ERR_OVL_BAD_PATH',
      `${what} "${p}" contains "${bad[0]}", which aufs reads as a separator and cannot escape; ` +
        'move the store to a path without ":", "," or "="',
      { path: p },
    );
  }
}

function tooLong(what: string, p: string, bytes: number, pageSize: number): MountOptsError {
  return new MountOptsError(
    'ERR_OVL_DATA_TOO_LONG',
    `${what} "${p}" needs ${bytes} bytes of mount data, more than one page (${pageSize}) holds; ` +
      'put the aufs store on a shorter path or drop the label',
    { path: p, dataBytes: bytes, pageSize },
  );
}

export function planAufsMount(opts: PlanAufsOptions): MountPlan {
  const pageSize = opts.pageSize ?? DEFAULT_PAGE_SIZE;
  checkPageSize(pageSize);
  const strategy = opts.strategy === 'aufs-append-each' ? 'aufs-append-each' : 'aufs';
  if (opts.strategy !== undefined && !['auto', 'aufs', 'aufs-append-each'].includes(opts.strategy)) {
    throw new MountOptsError('ERR_OVL_BAD_OPTION', `unknown aufs strategy "${opts.strategy}"`, {
      option: 'strategy',
    });
  }
  checkMountPath(opts.target, 'target');
  checkAufsPath(opts.rw, 'rw branch');
  for (const [i, p] of opts.ro.entries()) checkAufsPath(p, `ro branch ${i}`);
  if (opts.maxDepth !== undefined) checkDepth(opts.ro.length, opts.maxDepth, 'aufs');
  const label = opts.label ?? '';
  if (label) checkMountLabel(label);
  const xino = opts.xino ?? AUFS_DEFAULT_XINO;
  checkAufsPath(xino, 'xino');

  // Docker's budget, less whatever a longer xino path adds beyond the default its 54 bytes allow for.
  const labelBytes = byteLength(label);
  const budget =
    pageSize -
    labelBytes -
    AUFS_OPTIONS_OFFSET -
    (opts.dirperm1 ? 'dirperm1'.length : 0) -
    Math.max(0, byteLength(xino) - AUFS_DEFAULT_XINO.length);
  let branches = `br:${opts.rw}=rw`;
  let used = byteLength(branches);
  if (used > budget) throw tooLong('rw branch', opts.rw, used + (pageSize - budget), pageSize);
  let next = 0;
  for (; next < opts.ro.length; next++) {
    const entry = `:${opts.ro[next]}=ro+wh`;
    const n = byteLength(entry);
    if (used + n > budget) break;
    branches += entry;
    used += n;
  }
  const first = formatMountLabel(
    `${branches},dio,xino=${xino}${opts.dirperm1 ? ',dirperm1' : ''}`,
    label || undefined,
  );
  const step = (data: string, flags: number): MountCallStep => ({
    kind: 'mount',
    source: 'none',
    target: opts.target,
    fstype: 'aufs',
    flags,
    data,
  });
  const steps: MountCallStep[] = [step(first, 0)];

  // Each remount carries the label too (the seeds pass it to every call); the data must stay below a page.
  const max = pageSize - 1;
  const withLabel = (d: string) => formatMountLabel(d, label || undefined);
  // Running byte counts keep packing linear: a remount's data is its entries joined by ',' plus the label.
  const labelCost = label ? byteLength(formatMountLabel('x', label)) - 1 : 0;
  let pending: string[] = [];
  let pendingBytes = 0;
  const flush = () => {
    if (pending.length > 0) steps.push(step(withLabel(pending.join(',')), MS_REMOUNT));
    pending = [];
    pendingBytes = 0;
  };
  for (; next < opts.ro.length; next++) {
    const p = opts.ro[next]!;
    const entry = `append:${p}=ro+wh`;
    const n = byteLength(entry);
    if (n + labelCost > max) throw tooLong(`ro branch ${next}`, p, n + labelCost, pageSize);
    if (strategy === 'aufs-append-each') {
      steps.push(step(withLabel(entry), MS_REMOUNT));
      continue;
    }
    if (pending.length > 0 && pendingBytes + 1 + n + labelCost > max) flush();
    pendingBytes += (pending.length > 0 ? 1 : 0) + n;
    pending.push(entry);
  }
  flush();
  const dataBytes = Math.max(...steps.map((s) => byteLength(s.data)));
  if (dataBytes > max) {
    // Docker's budget always leaves room; this guards a future change to the arithmetic above.
    throw tooLong('first mount', opts.rw, dataBytes, pageSize);
  }
  return { strategy, steps, pageSize, dataBytes };
}
