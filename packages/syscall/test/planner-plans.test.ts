// Plans from @ovl/mountopts' planner, executed for real: every strategy forced in turn on a stack
// of 2 and of 500 lower layers, auto on both, and the planner's refusal of a 501st layer.
import { existsSync, readFileSync } from 'node:fs';
import { MountOptsError, type MountPlan, planOverlayMount } from '@ovl/mountopts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  getPageSize,
  isMountpoint,
  MNT_DETACH,
  probeOverlayFeatures,
  runPlan,
  umount2,
} from '../src/index.js';
import { isRoot, tempDir } from './helpers.js';
import { buildStack, checkMerged, type LayerStack } from './layer-fixture.js';

const overlayKnown =
  existsSync('/proc/filesystems') && /\toverlay\n/.test(readFileSync('/proc/filesystems', 'utf8'));
const skipReason = !isRoot ? 'not root' : !overlayKnown ? 'overlay missing from /proc/filesystems' : '';

type Choice = 'absolute' | 'fsconfig' | 'fd-relative' | 'link-relative' | 'link-relative+chroot' | 'auto';

function planFor(s: LayerStack, choice: Choice): MountPlan {
  const chroot = choice === 'link-relative+chroot';
  return planOverlayMount({
    target: s.target,
    lowers: s.lowers,
    upper: s.upper,
    work: s.work,
    pageSize: getPageSize(),
    kernel: probeOverlayFeatures(),
    links: { home: s.home, names: s.linkNames, chroot },
    strategy: chroot ? 'link-relative' : choice,
  });
}

for (const count of [2, 500]) {
  const test = suite(`planner plans: ${count} lower layers`);
  let t: ReturnType<typeof tempDir> | undefined;
  let stack: LayerStack | undefined;
  test.before(() => {
    if (skipReason) return;
    t = tempDir();
    stack = buildStack(t.dir, count);
  });
  test.after(() => {
    if (stack && isMountpoint(stack.target)) umount2(stack.target, MNT_DETACH);
    t?.remove();
  });
  const choices: Choice[] = ['fsconfig', 'fd-relative', 'link-relative', 'link-relative+chroot', 'auto'];
  if (count === 2) choices.unshift('absolute');
  for (const choice of choices) {
    test(choice, async () => {
      if (skipReason) return console.log(`  skip: ${skipReason}`);
      const { lowerdirPlus } = probeOverlayFeatures();
      if (choice === 'fsconfig' && !lowerdirPlus)
        return console.log('  skip: kernel without lowerdir+ (6.8+)');
      const s = stack!;
      const plan = planFor(s, choice);
      if (choice !== 'auto') assert.is(plan.strategy, choice.replace('+chroot', ''));
      // auto takes the first that fits: absolute for 2 layers; for 500 the new mount API where the
      // kernel has it, else fd-relative
      const deep = lowerdirPlus ? 'fsconfig' : 'fd-relative';
      if (choice === 'auto') assert.is(plan.strategy, count === 2 ? 'absolute' : deep);
      const cwd = process.cwd();
      await runPlan(plan);
      try {
        assert.is(process.cwd(), cwd);
        assert.ok(isMountpoint(s.target));
        assert.is(checkMerged(s), '');
      } finally {
        umount2(s.target);
      }
    });
  }
  test.run();
}

const deep = suite('planner plans: 501 layers');
deep('the planner refuses before any mount is tried', () => {
  const lowers = Array.from({ length: 501 }, (_, i) => `/var/lib/ovl/${i}/diff`);
  try {
    planOverlayMount({ target: '/var/lib/ovl/m', lowers, upper: '/u', work: '/w', strategy: 'fd-relative' });
    assert.unreachable('planned 501 layers');
  } catch (e) {
    assert.instance(e, MountOptsError);
    assert.is((e as MountOptsError).code, 'ERR_OVL_MAX_DEPTH');
    assert.match((e as Error).message, '500');
  }
});
deep.run();
