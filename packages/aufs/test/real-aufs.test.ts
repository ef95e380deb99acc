// The driver scenarios against a real aufs kernel: the same scenarios the recorded tests run
// (scenarios-*.ts), with the real harness (real-harness.ts) checking /proc/self/mountinfo, aufs's branch
// list and the merged tree read through each mount instead of recorded calls. Without aufs (mainline Linux,
// every kernel this project's CI has) or without root, each is registered as a skip and the reason printed.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { register } from './harness.js';
import { aufsBranchMax, aufsSysfsBranches, realAufsSkipReason, realHarness } from './real-harness.js';
import { driverScenarios } from './scenarios-driver.js';
import { layerScenarios } from './scenarios-layers.js';
import { stackScenarios } from './scenarios-stacks.js';

const skip = await realAufsSkipReason();

const Ops = suite('driver operations, real aufs');
register(Ops, realHarness, driverScenarios, { skip });
const Layers = suite('diff, applyDiff, changes and diffSize, real aufs');
register(Layers, realHarness, layerScenarios, { skip });
const Stacks = suite('merged views of aufs stacks, real aufs');
register(Stacks, realHarness, stackScenarios, { skip });

// the parts of the real harness that need no aufs run everywhere
const Helpers = suite('real harness helpers');

Helpers('the branch limit from a kernel config; 127 when the config does not say', () => {
  assert.is(aufsBranchMax('CONFIG_AUFS_FS=m\nCONFIG_AUFS_BRANCH_MAX_1023=y\n'), 1023);
  assert.is(aufsBranchMax('CONFIG_AUFS_FS=m\n# CONFIG_AUFS_BRANCH_MAX_511 is not set\n'), 127);
  assert.is(aufsBranchMax(undefined), 127);
});

Helpers('the skip reason names the missing aufs', async () => {
  const reason = await realAufsSkipReason({ modprobe: false, procFilesystems: '/proc/self/nope' });
  assert.is(
    reason,
    "aufs is not available in this kernel (mainline Linux never had it); these tests run on kernels with aufs, e.g. Ubuntu's before 21.04",
  );
});

Helpers('aufs branches from sysfs, top first, without their permissions', () => {
  const sysfs = mkdtempSync(join(tmpdir(), 'ovl-aufs-sysfs-'));
  try {
    mkdirSync(join(sysfs, 'si_8f3a1c2d'));
    // br0 … br11 (listed in name order, br10 before br2) and aufs's other files
    const branches = Array.from({ length: 12 }, (_, i) => `/d/l${11 - i}`);
    branches.forEach((b, i) => {
      writeFileSync(join(sysfs, 'si_8f3a1c2d', `br${i}`), `${b}=${i === 0 ? 'rw' : 'ro+wh'}\n`);
      writeFileSync(join(sysfs, 'si_8f3a1c2d', `brid${i}`), `${i + 100}\n`);
    });
    writeFileSync(join(sysfs, 'si_8f3a1c2d', 'xi_path'), '/dev/shm/aufs.xino\n');
    const info = {
      mountId: 1,
      parentId: 0,
      major: 0,
      minor: 50,
      root: '/',
      mountPoint: '/m',
      options: ['rw', 'relatime'],
      optionalFields: [],
      fstype: 'aufs',
      source: 'none',
      superOptions: ['rw', 'si=8f3a1c2d', 'dio'],
    };
    assert.equal(aufsSysfsBranches(info, sysfs), branches);
    assert.is(aufsSysfsBranches({ ...info, superOptions: ['rw', 'si=0'] }, sysfs), undefined);
  } finally {
    rmSync(sysfs, { recursive: true, force: true });
  }
});

Ops.run();
Layers.run();
Stacks.run();
Helpers.run();
