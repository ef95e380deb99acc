// What a container would see through an aufs stack, without an aufs kernel: the stack the recorded mount
// calls carry, replayed through the aufs model, then merged in user space by applying each branch's diff
// bottom up with @ovl/tar's 'flatten' rules (the scenarios of scenarios-stacks.ts with the recorded
// harness). As root, the same layers converted to overlay format (@ovl/tar 'overlay') and mounted for real
// with @ovl/mountopts + @ovl/syscall must show the same tree.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { planOverlayMount } from '@ovl/mountopts';
import { getPageSize, probeOverlayFeatures, runPlan, umount2 } from '@ovl/syscall';
import { apply } from '@ovl/tar';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AufsDriver } from '../src/index.js';
import { recordedHarness, register } from './harness.js';
import { stackScenarios } from './scenarios-stacks.js';
import { treeLines } from './tree.js';

const canMountOverlay =
  process.getuid?.() === 0 && readFileSync('/proc/filesystems', 'utf8').includes('\toverlay');
if (!canMountOverlay)
  console.log('merged-view: not root or no overlayfs: the real overlay comparison is skipped');

/** The same layers in overlay format, mounted read-only as lowers; returns the tree seen through it. */
async function overlayView(driver: AufsDriver, idsBottomFirst: string[], root: string): Promise<string[]> {
  const lowers: string[] = [];
  for (const id of idsBottomFirst) {
    const dir = join(root, 'ovl', id.slice(0, 12));
    mkdirSync(dir, { recursive: true });
    await apply(driver.diff(id), dir, { format: 'overlay' });
    lowers.unshift(dir);
  }
  const target = join(root, 'ovl-merged');
  mkdirSync(target);
  const plan = planOverlayMount({ target, lowers, pageSize: getPageSize(), kernel: probeOverlayFeatures() });
  await runPlan(plan);
  try {
    return treeLines(target);
  } finally {
    umount2(target);
  }
}

const Stacks = suite('merged views of aufs stacks');

register(Stacks, recordedHarness, stackScenarios, {
  after: async ({ driver, ids, lines, root }) => {
    if (canMountOverlay) assert.equal(await overlayView(driver, ids, root), lines, 'overlayfs agrees');
  },
});

Stacks.run();
