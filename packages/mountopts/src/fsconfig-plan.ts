// The new mount API for overlay: fsopen("overlay"), one fsconfig `lowerdir+` per layer (`datadir+` for
// data-only ones, Linux 6.8+), no page to fit and no escaping. The kernel copies each string value with
// strndup_user(value, 256), so a value is at most 255 bytes: longer layer paths go in by their short link
// names (relative to the store home) or, on 6.13+, as descriptors with FSCONFIG_SET_FD.

import { byteLength } from './byte-length.js';
import { type Attempt, type OverlayContext, relativeTo } from './overlay-context.js';
import type { FsconfigStep, FsParam } from './plan.js';

/** The longest fsconfig string value the kernel accepts, in bytes (256 with the NUL). */
export const FSCONFIG_VALUE_MAX = 255;

export function planFsconfig(ctx: OverlayContext): Attempt {
  const setFd = ctx.kernel.setFd === true;
  const params: FsParam[] = [];
  let needsHome = false;

  // One directory parameter: its path when short enough, else a descriptor, else a name under the home.
  const dirParam = (key: string, path: string, linkName: string | undefined): FsParam | Attempt => {
    if (byteLength(path) <= FSCONFIG_VALUE_MAX) return { type: 'string', key, value: path };
    if (setFd) return { type: 'fd', key, path };
    const rel = linkName ?? (ctx.links ? relativeTo(ctx.links.home, path) : undefined);
    if (rel !== undefined && byteLength(rel) <= FSCONFIG_VALUE_MAX) {
      needsHome = true;
      return { type: 'string', key, value: rel };
    }
    return {
      ok: false,
      reason:
        `fsconfig: ${key} "${path}" is ${byteLength(path)} bytes, over the kernel's ${FSCONFIG_VALUE_MAX}; ` +
        'give links (short l/<ID> names) or use FSCONFIG_SET_FD (kernel.setFd, Linux 6.13+)',
      path,
    };
  };
  const add = (p: FsParam | Attempt): Attempt | undefined => {
    if ('ok' in p) return p;
    params.push(p);
    return undefined;
  };

  for (let i = 0; i < ctx.lowers.length; i++) {
    const failed = add(dirParam('lowerdir+', ctx.lowers[i]!, ctx.links?.names[i]));
    if (failed) return failed;
  }
  for (const d of ctx.dataOnly) {
    const failed = add(dirParam('datadir+', d, undefined));
    if (failed) return failed;
  }
  for (const [key, p] of [
    ['upperdir', ctx.upper],
    ['workdir', ctx.work],
  ] as const) {
    if (p === undefined) continue;
    const failed = add(dirParam(key, p, undefined));
    if (failed) return failed;
  }
  for (const o of ctx.options) {
    if (o.value === undefined) params.push({ type: 'flag', key: o.key });
    else params.push({ type: 'string', key: o.key, value: o.value });
  }
  if (ctx.label !== undefined && ctx.label !== '') {
    // The LSM takes `context` from fsconfig as the bare label: no quotes, which mount(2) data needs.
    params.push({ type: 'string', key: 'context', value: ctx.label });
  }
  const long = params.find((p) => p.type === 'string' && byteLength(p.value) > FSCONFIG_VALUE_MAX);
  if (long) {
    return {
      ok: false,
      reason: `fsconfig: the value of ${long.key} is over the kernel's ${FSCONFIG_VALUE_MAX} bytes`,
      badOption: true,
    };
  }
  const step: FsconfigStep = {
    kind: 'fsconfig',
    fstype: 'overlay',
    source: ctx.source,
    target: ctx.target,
    params,
  };
  if (needsHome && ctx.links) step.cwd = ctx.links.home;
  return { ok: true, plan: { strategy: 'fsconfig', steps: [step], pageSize: ctx.pageSize, dataBytes: 0 } };
}
