// The three mount(2) strategies for overlay. Each builds its data string and keeps it under one page:
// mount(2) copies a single page and silently truncates the data to page size − 1 bytes, which can mount a
// shorter stack than asked (containers/storage#1159 tested `> pageSize` and failed at exactly 4096).

import { byteLength } from './byte-length.js';
import { escapeOverlayPath } from './escape.js';
import { fdDigits, fdPlaceholder } from './fd-placeholders.js';
import { type Attempt, type OverlayContext, relativeTo } from './overlay-context.js';
import { composeOverlayData } from './overlay-data.js';
import type { MountCallStep } from './plan.js';

/** Does data of `bytes` bytes survive mount(2) whole? Room is needed for the NUL. */
export function fitsPage(bytes: number, pageSize: number): boolean {
  return bytes <= pageSize - 1;
}

function tooLong(what: string, bytes: number, pageSize: number): Attempt {
  return {
    ok: false,
    reason: `${what} data is ${bytes} bytes, mount(2) takes at most ${pageSize - 1} (page size ${pageSize} with its NUL)`,
    dataBytes: bytes,
  };
}

function mountStep(ctx: OverlayContext, data: string, extra: Partial<MountCallStep> = {}): MountCallStep {
  return {
    kind: 'mount',
    source: ctx.source,
    target: ctx.target,
    fstype: 'overlay',
    flags: 0,
    data,
    ...extra,
  };
}

const opt = (p: string | undefined, f: (s: string) => string) => (p === undefined ? undefined : f(p));

/** One mount(2) naming every layer by its absolute path. */
export function planAbsolute(ctx: OverlayContext): Attempt {
  const data = composeOverlayData(
    ctx.lowers.map(escapeOverlayPath),
    ctx.dataOnly.map(escapeOverlayPath),
    opt(ctx.upper, escapeOverlayPath),
    opt(ctx.work, escapeOverlayPath),
    ctx.options,
    ctx.label,
  );
  const bytes = byteLength(data);
  if (!fitsPage(bytes, ctx.pageSize)) return tooLong('absolute', bytes, ctx.pageSize);
  return {
    ok: true,
    plan: { strategy: 'absolute', steps: [mountStep(ctx, data)], pageSize: ctx.pageSize, dataBytes: bytes },
  };
}

// `{` is escaped in the literal paths of fd-relative data so that a directory named `{{fd:1}}` can never be
// mistaken for a placeholder; the kernel unescapes any backslashed character.
const escapeLiteral = (p: string) => escapeOverlayPath(p).replace(/\{/g, '\\{');

/** Layers as O_PATH descriptors opened by the executor's child, named by number from /proc/self/fd. */
export function planFdRelative(ctx: OverlayContext): Attempt {
  const openDirs = [...ctx.lowers, ...ctx.dataOnly];
  const rest = [ctx.label ?? '', ...ctx.options.map((o) => o.value ?? '')];
  if (rest.some((s) => s.includes('{{fd:'))) {
    return { ok: false, reason: 'fd-relative: an option or the label contains "{{fd:"', badOption: true };
  }
  const data = composeOverlayData(
    ctx.lowers.map((_, i) => fdPlaceholder(i)),
    ctx.dataOnly.map((_, i) => fdPlaceholder(ctx.lowers.length + i)),
    opt(ctx.upper, escapeLiteral),
    opt(ctx.work, escapeLiteral),
    ctx.options,
    ctx.label,
  );
  // Each placeholder shrinks to at most `digits` characters once filled; the rest of the data is literal.
  const digits = fdDigits(openDirs.length);
  let placeholderChars = 0;
  for (let i = 0; i < openDirs.length; i++) placeholderChars += fdPlaceholder(i).length;
  const bytes = byteLength(data) - placeholderChars + openDirs.length * digits;
  if (!fitsPage(bytes, ctx.pageSize)) return tooLong('fd-relative', bytes, ctx.pageSize);
  return {
    ok: true,
    plan: {
      strategy: 'fd-relative',
      steps: [mountStep(ctx, data, { cwd: '/proc/self/fd', openDirs })],
      pageSize: ctx.pageSize,
      dataBytes: bytes,
    },
  };
}

/**
 * Short names relative to the store home (`l/<ID>` symlinks to each layer's diff), mounted from a child
 * whose working directory is the home, as containers/storage and Docker's overlay2 do.
 */
export function planLinkRelative(ctx: OverlayContext): Attempt {
  const links = ctx.links;
  if (!links) {
    return {
      ok: false,
      reason: 'link-relative: no links given (pass links: { home, names } with an l/<ID> name per lower)',
      badOption: true,
    };
  }
  const chroot = links.chroot === true;
  // Paths outside the home stay absolute; under chroot they would name nothing, so they are refused.
  const place = (p: string, what: string): string | Attempt => {
    const rel = relativeTo(links.home, p);
    if (rel !== undefined) return rel;
    if (!chroot) return p;
    return {
      ok: false,
      reason: `link-relative with chroot: ${what} "${p}" lies outside the store home "${links.home}"`,
      path: p,
    };
  };
  const tokens: Record<string, string | undefined> = {};
  for (const [what, p] of [
    ['upperdir', ctx.upper],
    ['workdir', ctx.work],
    ['target', ctx.target],
    ...ctx.dataOnly.map((d, i) => [`data-only layer ${i}`, d] as const),
  ] as const) {
    if (p === undefined) continue;
    const placed = place(p, what);
    if (typeof placed !== 'string') return placed;
    tokens[what] = placed;
  }
  const data = composeOverlayData(
    links.names.map(escapeOverlayPath),
    ctx.dataOnly.map((_, i) => escapeOverlayPath(tokens[`data-only layer ${i}`]!)),
    opt(tokens.upperdir, escapeOverlayPath),
    opt(tokens.workdir, escapeOverlayPath),
    ctx.options,
    ctx.label,
  );
  const bytes = byteLength(data);
  if (!fitsPage(bytes, ctx.pageSize)) return tooLong('link-relative', bytes, ctx.pageSize);
  const step = mountStep(ctx, data, { cwd: links.home });
  if (chroot) {
    step.chroot = true;
    step.target = tokens.target!;
  }
  return {
    ok: true,
    plan: { strategy: 'link-relative', steps: [step], pageSize: ctx.pageSize, dataBytes: bytes },
  };
}
