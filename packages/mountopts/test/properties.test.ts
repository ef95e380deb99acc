// Property tests over random layer lists, path lengths and page sizes: whatever the planner returns keeps
// every call's data below the page, names every layer exactly once and keeps their order. Layer identity
// is checked by reading the data back with the kernel-rule parser in kernel-parser.ts.

import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  FD_HEADROOM,
  type FsconfigStep,
  fdDigits,
  fillFdPlaceholders,
  type MountCallStep,
  MountOptsError,
  type MountPlan,
  planAufsMount,
  planOverlayMount,
} from '../src/index.js';
import { kernelParseOverlayData } from './kernel-parser.js';

const pageSizes = fc.constantFrom(4096, 16384, 65536);
const segment = (chars: string[], max: number) =>
  fc.array(fc.constantFrom(...chars), { minLength: 1, maxLength: max }).map((cs) => cs.join(''));
// Path characters include the ones overlayfs treats specially, and a two-byte one.
const overlayPath = fc
  .tuple(segment(['a', 'b', 'c', '0', '9'], 8), segment(['a', 'b', ':', ',', '\\', '=', 'é', '{', '-'], 300))
  .map(([a, b]) => `/${a}/${b}`);
const label = fc.option(segment(['s', '0', ':', 'c', '1', ',', '_'], 80), { nil: undefined });

/** Fill each placeholder with the widest number the executor may use, to measure the worst case. */
function widestFill(step: MountCallStep): string {
  const n = step.openDirs?.length ?? 0;
  if (n === 0) return step.data;
  const digits = fdDigits(n);
  const fds = step.openDirs!.map((_, i) => 10 ** (digits - 1) + i);
  assert.ok(fds.every((fd) => fd < n + FD_HEADROOM));
  return fillFdPlaceholders(step.data, fds);
}

/** The layer paths, in order, that each plan gives the kernel. */
function layersOf(plan: MountPlan, names: Map<string, string>): { lowers: string[]; dataOnly: string[] } {
  const step = plan.steps[0]!;
  if (step.kind === 'fsconfig') {
    const resolve = (p: FsconfigStep['params'][number]) =>
      p.type === 'fd' ? p.path : p.type === 'string' ? (names.get(p.value) ?? p.value) : '';
    return {
      lowers: step.params.filter((p) => p.key === 'lowerdir+').map(resolve),
      dataOnly: step.params.filter((p) => p.key === 'datadir+').map(resolve),
    };
  }
  const fds = (step.openDirs ?? []).map((_, i) => 100000 + i);
  const view = kernelParseOverlayData(fillFdPlaceholders(step.data, fds));
  const back = (s: string) => {
    if (step.openDirs && /^\d+$/.test(s)) return step.openDirs[Number(s) - 100000]!;
    return names.get(s) ?? (step.cwd && !s.startsWith('/') ? `${step.cwd}/${s}` : s);
  };
  return { lowers: view.lowers.map(back), dataOnly: view.dataOnly.map(back) };
}

type Strategy = 'auto' | 'absolute' | 'fsconfig' | 'fd-relative' | 'link-relative';
const seen = new Set<string>();
const overlay = suite('planOverlayMount properties');
overlay('every plan fits the page and names every layer once, in order', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(overlayPath, { minLength: 2, maxLength: 120 }),
      fc.uniqueArray(overlayPath, { maxLength: 3 }),
      pageSizes,
      label,
      fc.boolean(),
      fc.record({ lowerdirPlus: fc.boolean(), setFd: fc.boolean() }),
      fc.boolean(),
      fc.constantFrom(
        'auto',
        'auto',
        'absolute',
        'fsconfig',
        'fd-relative',
        'link-relative',
      ) as fc.Arbitrary<Strategy>,
      (lowers, dataOnlyRaw, pageSize, lbl, withUpper, kernel, withLinks, strategy) => {
        const dataOnly = dataOnlyRaw.filter((d) => !lowers.includes(d));
        const home = '/store';
        const linkNames = lowers.map((_, i) => `l/${i.toString(36).padStart(4, '0')}`);
        const names = new Map(linkNames.map((n, i) => [n, lowers[i]!]));
        let plan: MountPlan;
        try {
          plan = planOverlayMount({
            target: '/mnt/t',
            lowers,
            dataOnlyLowers: dataOnly,
            ...(withUpper ? { upper: '/store/c/diff', work: '/store/c/work' } : {}),
            ...(lbl ? { label: lbl } : {}),
            pageSize,
            kernel,
            ...(withLinks ? { links: { home, names: linkNames } } : {}),
            strategy,
          });
        } catch (e) {
          // the only acceptable refusals for valid input: nothing fits, or link-relative without links
          assert.instance(e, MountOptsError);
          const code = (e as MountOptsError).code;
          if (strategy === 'link-relative' && !withLinks) assert.is(code, 'ERR_OVL_BAD_OPTION');
          else assert.is(code, 'ERR_OVL_DATA_TOO_LONG');
          if (strategy === 'auto') assert.ok(!kernel.lowerdirPlus && !kernel.setFd);
          return;
        }
        seen.add(plan.strategy);
        if (strategy !== 'auto') assert.is(plan.strategy, strategy);
        for (const step of plan.steps) {
          if (step.kind !== 'mount') continue;
          const bytes = Buffer.byteLength(widestFill(step));
          assert.ok(bytes < pageSize, `${bytes} >= ${pageSize}`);
          assert.ok(bytes <= plan.dataBytes);
        }
        if (plan.strategy === 'fsconfig') {
          for (const p of (plan.steps[0] as FsconfigStep).params) {
            if (p.type === 'string') assert.ok(Buffer.byteLength(p.value) <= 255);
          }
        }
        const got = layersOf(plan, names);
        assert.equal(got.lowers, lowers);
        assert.equal(got.dataOnly, dataOnly);
      },
    ),
    { numRuns: 500 },
  );
  // the generators reach every strategy
  assert.equal([...seen].sort(), ['absolute', 'fd-relative', 'fsconfig', 'link-relative']);
});
overlay('auto takes absolute exactly when the absolute data fits', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(overlayPath, { minLength: 2, maxLength: 80 }),
      pageSizes,
      (lowers, pageSize) => {
        const forced = (() => {
          try {
            return planOverlayMount({ target: '/m', lowers, pageSize, strategy: 'absolute' });
          } catch {
            return undefined;
          }
        })();
        const plan = planOverlayMount({ target: '/m', lowers, pageSize });
        assert.is(plan.strategy, forced ? 'absolute' : 'fd-relative');
      },
    ),
    { numRuns: 200 },
  );
});
overlay.run();

// aufs has no escaping, so its random paths avoid ':', ',' and '='.
const aufsPath = fc
  .tuple(segment(['a', 'b', '0'], 8), segment(['a', 'b', 'c', '-', '_', 'é', '.'], 400))
  .map(([a, b]) => `/${a}/${b}`);

function aufsBranches(plan: MountPlan): { rw: string; ro: string[] } {
  const [first, ...rest] = plan.steps as MountCallStep[];
  const strip = (d: string) => d.replace(/,context="[^"]*"$/, '');
  const br = strip(first!.data).split(',')[0]!.slice('br:'.length).split(':');
  const ro = br.slice(1).map((e) => e.replace(/=ro\+wh$/, ''));
  for (const step of rest) {
    assert.is(step.flags & 0x20, 0x20);
    for (const e of strip(step.data).split(',')) ro.push(e.replace(/^append:(.*)=ro\+wh$/, '$1'));
  }
  return { rw: br[0]!.replace(/=rw$/, ''), ro };
}

const aufs = suite('planAufsMount properties');
aufs('every call fits the page; branches appear once, in order; Docker budget respected', () => {
  fc.assert(
    fc.property(
      fc.array(aufsPath, { maxLength: 300 }),
      pageSizes,
      fc.option(segment(['s', '0', ':', 'c', '1', ',', '_'], 80), { nil: undefined }),
      fc.boolean(),
      fc.constantFrom('aufs', 'aufs-append-each') as fc.Arbitrary<'aufs' | 'aufs-append-each'>,
      (ro, pageSize, lbl, dirperm1, strategy) => {
        const plan = planAufsMount({
          target: '/m',
          rw: '/var/lib/docker/aufs/diff/rw',
          ro,
          pageSize,
          dirperm1,
          strategy,
          ...(lbl ? { label: lbl } : {}),
        });
        for (const s of plan.steps as MountCallStep[]) assert.ok(Buffer.byteLength(s.data) < pageSize);
        const got = aufsBranches(plan);
        assert.is(got.rw, '/var/lib/docker/aufs/diff/rw');
        assert.equal(got.ro, ro);
        // The first mount takes whole entries greedily within page − label − 54 (− 8 with dirperm1).
        const budget = pageSize - Buffer.byteLength(lbl ?? '') - 54 - (dirperm1 ? 8 : 0);
        const first = (plan.steps[0] as MountCallStep).data.split(',')[0]!;
        assert.ok(Buffer.byteLength(first) <= budget);
        const taken = first.split(':').length - 2;
        if (taken < ro.length) {
          assert.ok(Buffer.byteLength(first) + Buffer.byteLength(`:${ro[taken]}=ro+wh`) > budget);
        }
        if (strategy === 'aufs-append-each') assert.is(plan.steps.length, 1 + ro.length - taken);
      },
    ),
    { numRuns: 300 },
  );
});
aufs.run();
