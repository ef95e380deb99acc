import { MS_NODEV, MS_NOSUID } from '@ovl/syscall';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { planLayerMount } from '../src/index.js';
import { splitMountFlags } from '../src/mount-flags.js';

const test = suite('overlay driver: mount decisions (no root needed)');
const home = '/var/lib/ovl';
const ctx = (lowerdirPlus: boolean) => ({
  sys: { runPlan: async () => {} },
  pageSize: 4096,
  kernel: { lowerdirPlus, setFd: false },
  strategy: 'auto' as const,
  debug: () => {},
});
const link = (i: number) => `l/${String(i).padStart(26, 'A')}`;
const layer = (n: number) => ({
  target: `${home}/top/merged`,
  home,
  lowers: Array.from({ length: n }, (_, i) => `${home}/${link(i)}`),
  linkNames: Array.from({ length: n }, (_, i) => link(i)),
  upper: `${home}/top/diff`,
  work: `${home}/top/work`,
  options: { index: 'off' as const, extra: ['metacopy=off'] },
});

test('a short stack mounts with absolute paths in one mount(2), exactly this data', () => {
  const plan = planLayerMount(ctx(true), layer(2));
  assert.is(plan.strategy, 'absolute');
  assert.is(plan.steps.length, 1);
  const step = plan.steps[0];
  assert.is(step?.kind, 'mount');
  if (step?.kind !== 'mount') return;
  assert.is(
    step.data,
    `lowerdir=${home}/${link(0)}:${home}/${link(1)},upperdir=${home}/top/diff,workdir=${home}/top/work,index=off,metacopy=off`,
  );
  assert.is(step.target, `${home}/top/merged`);
});

test('a deep stack uses lowerdir+ where the kernel has it, fd-relative where not', () => {
  const plus = planLayerMount(ctx(true), layer(499));
  assert.is(plus.strategy, 'fsconfig');
  const step = plus.steps[0];
  if (step?.kind !== 'fsconfig') throw new Error('expected an fsconfig step');
  assert.is(step.params.filter((p) => p.key === 'lowerdir+').length, 499);
  const fd = planLayerMount(ctx(false), layer(499));
  assert.is(fd.strategy, 'fd-relative');
  assert.ok(fd.dataBytes < 4096, String(fd.dataBytes));
});

test('mount options: flags are split from overlay data', () => {
  assert.equal(splitMountFlags(['nodev', 'rw', 'nosuid', 'metacopy=on', 'volatile']), {
    flags: MS_NODEV | MS_NOSUID,
    data: ['metacopy=on', 'volatile'],
  });
  assert.equal(splitMountFlags([]), { flags: 0, data: [] });
});

test.run();
