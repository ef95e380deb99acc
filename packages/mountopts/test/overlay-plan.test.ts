import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type FsconfigStep,
  fillFdPlaceholders,
  type MountCallStep,
  type PlanOverlayOptions,
  planOverlayMount,
} from '../src/index.js';
import { hexId, STORE, throwsCode } from './helpers.js';
import { kernelParseOverlayData } from './kernel-parser.js';

const mountStep = (p: { steps: unknown[] }) => p.steps[0] as MountCallStep;
const layers = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

const basic = suite('planOverlayMount: absolute');
basic('a small stack is one mount(2) with absolute, escaped paths', () => {
  const plan = planOverlayMount({
    target: '/m',
    lowers: ['/l1', '/l:2'],
    upper: '/u',
    work: '/w',
    label: 'x_t',
    options: { metacopy: 'on' },
  });
  const data = 'lowerdir=/l1:/l\\:2,upperdir=/u,workdir=/w,metacopy=on,context="x_t"';
  assert.equal(plan, {
    strategy: 'absolute',
    pageSize: 4096,
    dataBytes: data.length,
    steps: [{ kind: 'mount', source: 'overlay', target: '/m', fstype: 'overlay', flags: 0, data }],
  });
});
basic('dataBytes counts UTF-8 bytes', () => {
  const plan = planOverlayMount({ target: '/m', lowers: ['/é', '/z'] });
  assert.is(mountStep(plan).data, 'lowerdir=/é:/z');
  assert.is(plan.dataBytes, 15);
});
basic('source can be set', () => {
  assert.is(
    mountStep(planOverlayMount({ target: '/m', lowers: ['/a', '/z'], source: 'ovl-x' })).source,
    'ovl-x',
  );
});
basic.run();

const refuse = suite('planOverlayMount: refusals');
refuse('paths and layouts the kernel refuses', () => {
  throwsCode(() => planOverlayMount({ target: '/m', lowers: [] }), 'ERR_OVL_BAD_OPTION');
  throwsCode(() => planOverlayMount({ target: '/m', lowers: ['rel', '/z'] }), 'ERR_OVL_BAD_PATH');
  throwsCode(() => planOverlayMount({ target: 'm', lowers: ['/a', '/z'] }), 'ERR_OVL_BAD_PATH');
  throwsCode(() => planOverlayMount({ target: '/m', lowers: ['/a'] }), 'ERR_OVL_BAD_OPTION');
  throwsCode(() => planOverlayMount({ target: '/m', lowers: ['/a', '/b', '/a'] }), 'ERR_OVL_BAD_PATH');
  throwsCode(() => planOverlayMount({ target: '/m', lowers: ['/a', ''] }), 'ERR_OVL_BAD_PATH');
  throwsCode(() => planOverlayMount({ target: '/m', lowers: ['/a'], upper: '/u' }), 'ERR_OVL_BAD_OPTION');
  throwsCode(
    () => planOverlayMount({ target: '/m', lowers: ['/a'], upper: 'u', work: '/w' }),
    'ERR_OVL_BAD_PATH',
  );
  throwsCode(
    () => planOverlayMount({ target: '/m', lowers: ['/a', '/z'], label: 'a"b' }),
    'ERR_OVL_BAD_OPTION',
  );
  throwsCode(
    () => planOverlayMount({ target: '/m', lowers: ['/a', '/z'], pageSize: 4000 }),
    'ERR_OVL_BAD_OPTION',
  );
  for (const strategy of ['bogus', 'constructor', 'auto ']) {
    throwsCode(
      () => planOverlayMount({ target: '/m', lowers: ['/a', '/z'], strategy: strategy as never }),
      'ERR_OVL_BAD_OPTION',
    );
  }
});
refuse('links must be parallel to lowers and stay inside the home', () => {
  const base = { target: '/m', lowers: ['/a', '/b'] };
  throwsCode(
    () => planOverlayMount({ ...base, links: { home: '/s', names: ['l/A'] } }),
    'ERR_OVL_BAD_OPTION',
  );
  throwsCode(
    () => planOverlayMount({ ...base, links: { home: '/s', names: ['l/A', '../x'] } }),
    'ERR_OVL_BAD_PATH',
  );
  throwsCode(
    () => planOverlayMount({ ...base, links: { home: '/s', names: ['l/A', '/abs'] } }),
    'ERR_OVL_BAD_PATH',
  );
  throwsCode(
    () => planOverlayMount({ ...base, links: { home: 's', names: ['l/A', 'l/B'] } }),
    'ERR_OVL_BAD_PATH',
  );
});
refuse.run();

const depth = suite('planOverlayMount: depth');
depth('500 lowers plan, 501 are ERR_OVL_MAX_DEPTH (data-only layers count)', () => {
  const l = layers(500, (i) => `/l/${i}`);
  assert.is(planOverlayMount({ target: '/m', lowers: l }).steps.length, 1);
  const e = throwsCode(() => planOverlayMount({ target: '/m', lowers: [...l, '/x'] }), 'ERR_OVL_MAX_DEPTH');
  assert.is(e.depth, 501);
  assert.is(e.maxDepth, 500);
  throwsCode(
    () => planOverlayMount({ target: '/m', lowers: l, dataOnlyLowers: ['/d'] }),
    'ERR_OVL_MAX_DEPTH',
  );
});
depth('the limit is configurable', () => {
  const l = layers(11, (i) => `/l/${i}`);
  throwsCode(() => planOverlayMount({ target: '/m', lowers: l, maxDepth: 10 }), 'ERR_OVL_MAX_DEPTH');
  assert.ok(planOverlayMount({ target: '/m', lowers: l, maxDepth: 11 }));
});
depth.run();

const auto = suite('planOverlayMount: auto order');
const deep = layers(80, (i) => `${STORE}/${hexId(i)}/diff`);
const me = `${STORE}/${hexId(999)}`;
const deepOpts: PlanOverlayOptions = {
  target: `${me}/merged`,
  lowers: deep,
  upper: `${me}/diff`,
  work: `${me}/work`,
};
auto('too long for absolute, no lowerdir+: fd-relative', () => {
  const plan = planOverlayMount(deepOpts);
  assert.is(plan.strategy, 'fd-relative');
  const step = mountStep(plan);
  assert.is(step.cwd, '/proc/self/fd');
  assert.equal(step.openDirs, deep);
  assert.is(step.target, `${me}/merged`);
  const filled = fillFdPlaceholders(
    step.data,
    deep.map((_, i) => i + 3),
  );
  const view = kernelParseOverlayData(filled);
  assert.equal(
    view.lowers,
    deep.map((_, i) => String(i + 3)),
  );
  assert.is(view.upper, `${me}/diff`);
  assert.ok(Buffer.byteLength(filled) <= plan.dataBytes);
});
auto('kernel.lowerdirPlus: fsconfig with one lowerdir+ per layer, in order', () => {
  const plan = planOverlayMount({ ...deepOpts, kernel: { lowerdirPlus: true }, label: 's0:c1,c2' });
  assert.is(plan.strategy, 'fsconfig');
  assert.is(plan.dataBytes, 0);
  const step = plan.steps[0] as FsconfigStep;
  assert.equal(step.params, [
    ...deep.map((value) => ({ type: 'string', key: 'lowerdir+', value })),
    { type: 'string', key: 'upperdir', value: `${me}/diff` },
    { type: 'string', key: 'workdir', value: `${me}/work` },
    { type: 'string', key: 'context', value: 's0:c1,c2' },
  ]);
  assert.is(step.cwd, undefined);
});
auto('absolute still wins when it fits, even with lowerdir+', () => {
  assert.is(
    planOverlayMount({ target: '/m', lowers: ['/a', '/z'], kernel: { lowerdirPlus: true } }).strategy,
    'absolute',
  );
});
auto('fd-relative too long (long upper/work), links given: link-relative', () => {
  const home = `/${'h'.repeat(2050)}`;
  const plan = planOverlayMount({
    target: `${home}/c/merged`,
    lowers: layers(3, (i) => `${home}/${i}/diff`),
    upper: `${home}/c/diff`,
    work: `${home}/c/work`,
    links: { home, names: ['l/A', 'l/B', 'l/C'] },
  });
  assert.is(plan.strategy, 'link-relative');
  const step = mountStep(plan);
  assert.is(step.data, 'lowerdir=l/A:l/B:l/C,upperdir=c/diff,workdir=c/work');
  assert.is(step.cwd, home);
  assert.is(step.target, `${home}/c/merged`);
  assert.is(step.chroot, undefined);
});
auto('nothing fits: ERR_OVL_DATA_TOO_LONG with the length and what would shorten it', () => {
  const home = `/${'h'.repeat(2100)}`;
  const e = throwsCode(
    () =>
      planOverlayMount({
        target: '/m',
        lowers: ['/a'],
        upper: `${home}/diff`,
        work: `${home}/work`,
        label: 'x_t',
      }),
    'ERR_OVL_DATA_TOO_LONG',
  );
  assert.is(e.pageSize, 4096);
  assert.ok(e.dataBytes! > 4200);
  assert.match(e.message, 'lowerdirPlus');
  assert.match(e.message, 'links');
  assert.match(e.message, 'label');
});
auto.run();

const forced = suite('planOverlayMount: forced strategies');
forced('fd-relative on a small stack', () => {
  const plan = planOverlayMount({
    target: '/m',
    lowers: ['/a', '/b'],
    dataOnlyLowers: ['/d'],
    strategy: 'fd-relative',
  });
  const step = mountStep(plan);
  assert.is(step.data, 'lowerdir={{fd:0}}:{{fd:1}}::{{fd:2}},metacopy=on');
  assert.equal(step.openDirs, ['/a', '/b', '/d']);
  assert.is(plan.dataBytes, 'lowerdir=0000:0000::0000,metacopy=on'.length);
});
forced('fd-relative escapes "{" in literal paths so they cannot pose as placeholders', () => {
  const step = mountStep(
    planOverlayMount({
      target: '/m',
      lowers: ['/a'],
      upper: '/{{fd:0}}',
      work: '/w',
      strategy: 'fd-relative',
    }),
  );
  const filled = fillFdPlaceholders(step.data, [7]);
  assert.is(kernelParseOverlayData(filled).upper, '/{{fd:0}}');
  assert.equal(kernelParseOverlayData(filled).lowers, ['7']);
});
forced('link-relative without links is a bad option', () => {
  throwsCode(
    () => planOverlayMount({ target: '/m', lowers: ['/a', '/z'], strategy: 'link-relative' }),
    'ERR_OVL_BAD_OPTION',
  );
});
forced('link-relative with chroot makes every path relative to the home', () => {
  const plan = planOverlayMount({
    target: '/s/c/merged',
    lowers: ['/s/a/diff'],
    upper: '/s/c/diff',
    work: '/s/c/work',
    dataOnlyLowers: ['/s/d/diff'],
    links: { home: '/s/', names: ['l/A'], chroot: true },
    strategy: 'link-relative',
  });
  const step = mountStep(plan);
  assert.equal(
    { data: step.data, cwd: step.cwd, chroot: step.chroot, target: step.target },
    {
      data: 'lowerdir=l/A::d/diff,upperdir=c/diff,workdir=c/work,metacopy=on',
      cwd: '/s/',
      chroot: true,
      target: 'c/merged',
    },
  );
});
forced('link-relative with chroot refuses paths outside the home', () => {
  const e = throwsCode(
    () =>
      planOverlayMount({
        target: '/m',
        lowers: ['/s/a', '/s/b'],
        links: { home: '/s', names: ['l/A', 'l/B'], chroot: true },
        strategy: 'link-relative',
      }),
    'ERR_OVL_BAD_PATH',
  );
  assert.is(e.path, '/m');
});
forced('absolute when it does not fit is ERR_OVL_DATA_TOO_LONG', () => {
  throwsCode(() => planOverlayMount({ ...deepOpts, strategy: 'absolute' }), 'ERR_OVL_DATA_TOO_LONG');
});
forced.run();
