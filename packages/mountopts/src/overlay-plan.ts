// planOverlayMount: check the input once, then take the first strategy whose calls the kernel will take
// whole — absolute, fsconfig (when the kernel has lowerdir+), fd-relative, link-relative — or say, with
// numbers, why none does and what would make the data shorter.

import { checkDepth, OVERLAY_MAX_DEPTH } from './depth.js';
import { MountOptsError } from './errors.js';
import { checkMountPath } from './escape.js';
import { planFsconfig } from './fsconfig-plan.js';
import { checkMountLabel } from './label.js';
import type { Attempt, KernelFeatures, LinkNames, OverlayContext } from './overlay-context.js';
import { checkOverlayLayout } from './overlay-data.js';
import { type OverlayExtraOptions, resolveOverlayOptions } from './overlay-options.js';
import { planAbsolute, planFdRelative, planLinkRelative } from './overlay-strategies.js';
import type { MountPlan } from './plan.js';

export type OverlayStrategyChoice = 'auto' | 'absolute' | 'fsconfig' | 'fd-relative' | 'link-relative';

export interface PlanOverlayOptions {
  /** absolute mount point */
  target: string;
  /** lower layer directories, top first, absolute */
  lowers: string[];
  upper?: string;
  work?: string;
  /** data-only lower layers (Linux 6.5+), absolute */
  dataOnlyLowers?: string[];
  /** SELinux mount label */
  label?: string;
  options?: OverlayExtraOptions;
  /** the running kernel's page size (4096 on x86_64; 16K/64K on some arm64/ppc64le) */
  pageSize?: number;
  kernel?: KernelFeatures;
  /** short names for the lowers, relative to the store home */
  links?: LinkNames;
  /** `auto` (default) picks the first that fits; any other value forces that strategy */
  strategy?: OverlayStrategyChoice;
  /** refuse deeper stacks (default 500, the kernel's OVL_MAX_STACK) */
  maxDepth?: number;
  /** the mount's source string as mountinfo shows it (default `overlay`) */
  source?: string;
}

export const DEFAULT_PAGE_SIZE = 4096;

export function checkPageSize(pageSize: number): void {
  if (!Number.isInteger(pageSize) || pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) {
    throw new MountOptsError(
      'ERR_OVL_BAD_OPTION',
      `page size ${pageSize} is not a power of two of at least 512; pass getPageSize() from @ovl/syscall`,
      { option: 'pageSize' },
    );
  }
}

function checkLinks(links: LinkNames, lowers: string[]): void {
  checkMountPath(links.home, 'links.home');
  if (links.names.length !== lowers.length) {
    throw new MountOptsError(
      'ERR_OVL_BAD_OPTION',
      `links.names has ${links.names.length} entries for ${lowers.length} lowers; give one name per lower`,
      { option: 'links' },
    );
  }
  for (const [i, n] of links.names.entries()) {
    checkMountPath(n, `link name ${i}`, { absolute: false });
    if (n.startsWith('/') || n.split('/').includes('..')) {
      throw new MountOptsError(
        'ERR_OVL_BAD_PATH',
        `link name "${n}" must be relative to the store home and stay inside it, like l/<ID>`,
        { path: n },
      );
    }
  }
}

function context(opts: PlanOverlayOptions): OverlayContext {
  const pageSize = opts.pageSize ?? DEFAULT_PAGE_SIZE;
  checkPageSize(pageSize);
  checkOverlayLayout(opts);
  const dataOnly = opts.dataOnlyLowers ?? [];
  checkDepth(opts.lowers.length + dataOnly.length, opts.maxDepth ?? OVERLAY_MAX_DEPTH);
  checkMountPath(opts.target, 'target');
  for (const [i, p] of opts.lowers.entries()) checkMountPath(p, `lower layer ${i}`);
  for (const [i, p] of dataOnly.entries()) checkMountPath(p, `data-only layer ${i}`);
  if (opts.upper !== undefined) checkMountPath(opts.upper, 'upperdir');
  if (opts.work !== undefined) checkMountPath(opts.work, 'workdir');
  if (opts.label) checkMountLabel(opts.label);
  if (opts.links) checkLinks(opts.links, opts.lowers);
  const ctx: OverlayContext = {
    source: opts.source ?? 'overlay',
    target: opts.target,
    lowers: opts.lowers,
    dataOnly,
    options: resolveOverlayOptions(opts.options, {
      upper: opts.upper !== undefined,
      dataOnly: dataOnly.length > 0,
    }),
    pageSize,
    kernel: opts.kernel ?? {},
  };
  if (opts.upper !== undefined) ctx.upper = opts.upper;
  if (opts.work !== undefined) ctx.work = opts.work;
  if (opts.label) ctx.label = opts.label;
  if (opts.links) ctx.links = opts.links;
  return ctx;
}

function failure(attempts: Array<[string, Attempt]>, ctx: OverlayContext): MountOptsError {
  const failed = attempts.filter((a): a is [string, Extract<Attempt, { ok: false }>] => !a[1].ok);
  const sizes = failed.map(([, a]) => a.dataBytes).filter((n): n is number => n !== undefined);
  const dataBytes = sizes.length > 0 ? Math.min(...sizes) : undefined;
  const single = failed.length === 1 ? failed[0]![1] : undefined;
  if (single?.badOption) {
    return new MountOptsError('ERR_OVL_BAD_OPTION', single.reason, { option: failed[0]![0] });
  }
  if (single?.path !== undefined && single.dataBytes === undefined && failed[0]![0] !== 'fsconfig') {
    return new MountOptsError('ERR_OVL_BAD_PATH', single.reason, { path: single.path });
  }
  const hints: string[] = [];
  if (!ctx.kernel.lowerdirPlus && !ctx.kernel.setFd) hints.push('on Linux 6.8+ set kernel.lowerdirPlus');
  if (!ctx.links) hints.push('give links (l/<ID> names relative to the store home)');
  if (ctx.label) hints.push(`drop or shorten the label (${ctx.label.length} bytes)`);
  if (ctx.options.length > 0) hints.push('drop extra options');
  hints.push('keep upper/work and the store on a shorter path', 'squash layers');
  const details: ConstructorParameters<typeof MountOptsError>[2] = { pageSize: ctx.pageSize };
  if (dataBytes !== undefined) details.dataBytes = dataBytes;
  if (single?.path !== undefined) details.path = single.path;
  return new MountOptsError(
    'ERR_OVL_DATA_TOO_LONG',
    `no overlay mount plan fits: ${failed.map(([, a]) => a.reason).join('; ')}. To shorten it: ${hints.join(', ')}`,
    details,
  );
}

/** Plan an overlay mount; see the package README for the strategies and their order. */
export function planOverlayMount(opts: PlanOverlayOptions): MountPlan {
  const ctx = context(opts);
  const choice = opts.strategy ?? 'auto';
  const run: Record<Exclude<OverlayStrategyChoice, 'auto'>, () => Attempt> = {
    absolute: () => planAbsolute(ctx),
    fsconfig: () => planFsconfig(ctx),
    'fd-relative': () => planFdRelative(ctx),
    'link-relative': () => planLinkRelative(ctx),
  };
  if (choice !== 'auto') {
    const fn = Object.hasOwn(run, choice) ? run[choice] : undefined;
    if (!fn) {
      throw new MountOptsError('ERR_OVL_BAD_OPTION', `unknown overlay strategy "${String(choice)}"`, {
        option: 'strategy',
      });
    }
    const a = fn();
    if (a.ok) return a.plan;
    throw failure([[choice, a]], ctx);
  }
  const order: Array<Exclude<OverlayStrategyChoice, 'auto'>> = ['absolute'];
  if (ctx.kernel.lowerdirPlus || ctx.kernel.setFd) order.push('fsconfig');
  order.push('fd-relative');
  if (ctx.links) order.push('link-relative');
  const attempts: Array<[string, Attempt]> = [];
  for (const name of order) {
    const a = run[name]();
    if (a.ok) return a.plan;
    attempts.push([name, a]);
  }
  throw failure(attempts, ctx);
}
