import { spawn } from 'node:child_process';
import {
  type KernelFeatures,
  type MountPlan,
  type OverlayExtraOptions,
  type OverlayStrategyChoice,
  planOverlayMount,
} from '@ovl/mountopts';
import type { Syscalls } from '@ovl/syscall';
import { OverlayError } from './errors.js';

/** One overlay mount to make: the layer's directories as the driver resolved them. */
export interface LayerMount {
  target: string;
  /** absolute lower dirs, top first */
  lowers: string[];
  /** the same lowers as names relative to `home` (`l/<ID>`), when every one has such a name */
  linkNames?: string[];
  home: string;
  upper?: string;
  work?: string;
  label?: string;
  options: OverlayExtraOptions;
}

export interface MountContext {
  sys: Pick<Syscalls, 'runPlan'>;
  pageSize: number;
  kernel: KernelFeatures;
  strategy: OverlayStrategyChoice;
  /** use this FUSE program (e.g. /usr/bin/fuse-overlayfs) instead of the kernel */
  mountProgram?: string;
  debug: (msg: string) => void;
}

/** Plans the mount with @ovl/mountopts (the caller can show the plan) without running it. */
export function planLayerMount(ctx: MountContext, m: LayerMount): MountPlan {
  const opts: Parameters<typeof planOverlayMount>[0] = {
    target: m.target,
    lowers: m.lowers,
    options: m.options,
    pageSize: ctx.pageSize,
    kernel: ctx.kernel,
    strategy: ctx.strategy,
  };
  if (m.upper !== undefined) opts.upper = m.upper;
  if (m.work !== undefined) opts.work = m.work;
  if (m.label) opts.label = m.label;
  if (m.linkNames) opts.links = { home: m.home, names: m.linkNames };
  return planOverlayMount(opts);
}

/** Mounts with a FUSE helper: all layers go on its command line, so no page limit applies. */
async function mountWithProgram(program: string, m: LayerMount): Promise<void> {
  const esc = (p: string) => p.replace(/([\\:,])/g, '\\$1');
  let data = `lowerdir=${m.lowers.map(esc).join(':')}`;
  if (m.upper !== undefined && m.work !== undefined)
    data += `,upperdir=${esc(m.upper)},workdir=${esc(m.work)}`;
  for (const o of m.options.extra ?? []) data += `,${o}`;
  if (m.label) data += `,context="${m.label}"`;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(program, ['-o', data, m.target], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(
            new OverlayError('ERR_OVL_MOUNT_FAILED', `${program} failed (exit ${code}): ${err.trim()}`, {
              path: m.target,
            }),
          ),
    );
  });
}

/** Mounts a layer and returns which way it went: the plan's strategy or `mount_program`. */
export async function mountLayer(ctx: MountContext, m: LayerMount): Promise<string> {
  if (ctx.mountProgram) {
    await mountWithProgram(ctx.mountProgram, m);
    ctx.debug(`mounted ${m.target} with ${ctx.mountProgram} (${m.lowers.length} lowers)`);
    return 'mount_program';
  }
  const plan = planLayerMount(ctx, m);
  try {
    await ctx.sys.runPlan(plan);
  } catch (err) {
    throw new OverlayError(
      'ERR_OVL_MOUNT_FAILED',
      `mounting ${m.target} (${plan.strategy}, ${m.lowers.length} lowers) failed: ${(err as Error).message}`,
      { path: m.target, cause: err },
    );
  }
  ctx.debug(
    `mounted ${m.target}: strategy ${plan.strategy}, ${m.lowers.length} lowers, ${plan.steps.length} steps, ${plan.dataBytes} data bytes`,
  );
  return plan.strategy;
}
