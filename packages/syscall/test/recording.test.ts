import type { MountPlan } from '@ovl/mountopts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createRecordingSyscalls, MNT_DETACH, MS_REMOUNT, runPlan, SyscallError } from '../src/index.js';

// An aufs-like plan: one mount, then remounts that append layers.
const aufsPlan: MountPlan = {
  strategy: 'aufs',
  pageSize: 4096,
  dataBytes: 40,
  steps: [
    {
      kind: 'mount',
      source: 'none',
      target: '/s/mnt/x',
      fstype: 'aufs',
      flags: 0,
      data: 'br:/s/diff/x=rw:/s/diff/a=ro+wh',
    },
    {
      kind: 'mount',
      source: 'none',
      target: '/s/mnt/x',
      fstype: 'aufs',
      flags: MS_REMOUNT,
      data: 'append:/s/diff/b=ro+wh',
    },
    {
      kind: 'mount',
      source: 'none',
      target: '/s/mnt/x',
      fstype: 'aufs',
      flags: MS_REMOUNT,
      data: 'append:/s/diff/c=ro+wh',
    },
  ],
};

const rec = suite('recording syscalls');
rec('records every step of a plan in order and keeps a pretend mount table', async () => {
  const { syscalls, calls, mounts } = createRecordingSyscalls();
  await runPlan(aufsPlan, { syscalls });
  assert.equal(
    calls.map((c) => [c.name, c.stepIndex, c.args[1], c.args[3], c.args[4]]),
    [
      ['runPlan', undefined, undefined, undefined, undefined],
      ['mount', 0, '/s/mnt/x', 0, 'br:/s/diff/x=rw:/s/diff/a=ro+wh'],
      ['mount', 1, '/s/mnt/x', MS_REMOUNT, 'append:/s/diff/b=ro+wh'],
      ['mount', 2, '/s/mnt/x', MS_REMOUNT, 'append:/s/diff/c=ro+wh'],
    ],
  );
  assert.ok(syscalls.isMountpoint('/s/mnt/x'));
  assert.is(mounts.get('/s/mnt/x')?.fstype, 'aufs');
  assert.equal(
    syscalls.readMountinfo().map((m) => [m.mountPoint, m.fstype]),
    [['/s/mnt/x', 'aufs']],
  );
  syscalls.umount2('/s/mnt/x');
  assert.ok(!syscalls.isMountpoint('/s/mnt/x'));
  assert.throws(() => syscalls.umount2('/s/mnt/x'), /not mounted/);
});
rec('a failing step rolls back what the plan mounted and names the step', async () => {
  const { syscalls, calls } = createRecordingSyscalls({
    onCall: (c) => (c.name === 'mount' && c.stepIndex === 2 ? 'EINVAL' : undefined),
  });
  let err: SyscallError | undefined;
  try {
    await runPlan(aufsPlan, { syscalls });
  } catch (e) {
    err = e as SyscallError;
  }
  assert.instance(err, SyscallError);
  assert.is(err?.code, 'EINVAL');
  assert.is(err?.step, 2);
  assert.match(err?.message ?? '', 'step 3 of 3');
  assert.match(err?.message ?? '', 'detached again: /s/mnt/x');
  const last = calls.at(-1);
  assert.equal([last?.name, ...(last?.args ?? [])], ['umount2', '/s/mnt/x', MNT_DETACH]);
  assert.ok(!syscalls.isMountpoint('/s/mnt/x'));
});
rec('cwd and chroot steps are recorded with the target as the caller sees it', async () => {
  const { syscalls, calls } = createRecordingSyscalls();
  await syscalls.runPlan({
    strategy: 'link-relative',
    pageSize: 4096,
    dataBytes: 10,
    steps: [
      {
        kind: 'mount',
        source: 'overlay',
        target: 'x/merged',
        fstype: 'overlay',
        flags: 0,
        data: 'lowerdir=l/A',
        cwd: '/h',
      },
      {
        kind: 'mount',
        source: 'overlay',
        target: 'y/merged',
        fstype: 'overlay',
        flags: 0,
        data: 'lowerdir=l/B',
        cwd: '/h',
        chroot: true,
      },
    ],
  });
  assert.equal(
    calls.slice(1).map((c) => [c.args[1], c.step?.cwd]),
    [
      ['/h/x/merged', '/h'],
      ['/h/y/merged', '/h'],
    ],
  );
});
rec('a throwing onCall fails the call with that error; settings are reported back', () => {
  const boom = new Error('boom');
  const { syscalls } = createRecordingSyscalls({
    pageSize: 65536,
    fsName: (p) => (p.startsWith('/z') ? 'zfs' : 'xfs'),
    newMountApi: false,
    onCall: (c) => {
      if (c.name === 'chroot') throw boom;
    },
  });
  assert.is(syscalls.getPageSize(), 65536);
  assert.is(syscalls.statfs('/z/pool').fsName, 'zfs');
  assert.is(syscalls.statfs('/var').fsName, 'xfs');
  assert.ok(!syscalls.hasNewMountApi());
  assert.equal(syscalls.probeOverlayFeatures(), { lowerdirPlus: false, setFd: false });
  assert.throws(() => syscalls.chroot('/x'), /boom/);
});
rec('an errno name from onCall becomes a SyscallError with that code', () => {
  const { syscalls } = createRecordingSyscalls({ onCall: (c) => (c.name === 'mount' ? 'EXDEV' : undefined) });
  try {
    syscalls.mount('none', '/t', 'tmpfs');
    assert.unreachable();
  } catch (e) {
    assert.instance(e, SyscallError);
    assert.is((e as SyscallError).code, 'EXDEV');
    assert.is((e as SyscallError).path, '/t');
  }
  assert.ok(!syscalls.isMountpoint('/t'));
});
rec.run();
