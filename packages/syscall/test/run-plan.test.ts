// runPlan against the real kernel: overlay stacks of 2, 128 and 500 lower layers under long paths,
// each strategy forced in turn, the merged view checked file by file, the caller's cwd untouched.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MountPlan } from '@ovl/mountopts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  getPageSize,
  type Isolation,
  isMountpoint,
  MNT_DETACH,
  probeOverlayFeatures,
  readMountinfo,
  runPlan,
  SyscallError,
  stopMountThread,
  umount2,
} from '../src/index.js';
import { isRoot, tempDir } from './helpers.js';
import { buildStack, checkMerged, type LayerStack } from './layer-fixture.js';

const overlayKnown =
  existsSync('/proc/filesystems') && /\toverlay\n/.test(readFileSync('/proc/filesystems', 'utf8'));
const skipReason = !isRoot ? 'not root' : !overlayKnown ? 'overlay missing from /proc/filesystems' : '';
const features = skipReason ? { lowerdirPlus: false, setFd: false } : probeOverlayFeatures();

const plans = {
  absolute: (s: LayerStack): MountPlan => {
    const data = `lowerdir=${s.lowers.join(':')},upperdir=${s.upper},workdir=${s.work}`;
    return plan('absolute', [
      { kind: 'mount', source: 'overlay', target: s.target, fstype: 'overlay', flags: 0, data },
    ]);
  },
  'link-relative': (s: LayerStack): MountPlan => {
    const data = `lowerdir=${s.linkNames.join(':')},upperdir=upper,workdir=work`;
    return plan('link-relative', [
      { kind: 'mount', source: 'overlay', target: s.target, fstype: 'overlay', flags: 0, data, cwd: s.home },
    ]);
  },
  'link-relative+chroot': (s: LayerStack): MountPlan => {
    const data = `lowerdir=${s.linkNames.map((n) => `${n}/`).join(':')},upperdir=upper,workdir=work`;
    return plan('link-relative', [
      {
        kind: 'mount',
        source: 'overlay',
        target: 'merged',
        fstype: 'overlay',
        flags: 0,
        data,
        cwd: s.home,
        chroot: true,
      },
    ]);
  },
  'fd-relative': (s: LayerStack): MountPlan => {
    const data = `lowerdir=${s.lowers.map((_, i) => `{{fd:${i}}}`).join(':')},upperdir=${s.upper},workdir=${s.work}`;
    return plan('fd-relative', [
      {
        kind: 'mount',
        source: 'overlay',
        target: s.target,
        fstype: 'overlay',
        flags: 0,
        data,
        cwd: '/proc/self/fd',
        openDirs: s.lowers,
      },
    ]);
  },
  'fsconfig lowerdir+': (s: LayerStack): MountPlan => fsconfigPlan(s, false),
  'fsconfig SET_FD': (s: LayerStack): MountPlan => fsconfigPlan(s, true),
};
type PlanName = keyof typeof plans;

function fsconfigPlan(s: LayerStack, byFd: boolean): MountPlan {
  return plan('fsconfig', [
    {
      kind: 'fsconfig',
      fstype: 'overlay',
      source: 'ovl-test',
      target: s.target,
      params: [
        ...s.lowers.map((p) =>
          byFd
            ? { type: 'fd' as const, key: 'lowerdir+', path: p }
            : { type: 'string' as const, key: 'lowerdir+', value: p },
        ),
        { type: 'string', key: 'upperdir', value: s.upper },
        { type: 'string', key: 'workdir', value: s.work },
      ],
    },
  ]);
}

function plan(strategy: MountPlan['strategy'], steps: MountPlan['steps']): MountPlan {
  return { strategy, steps, pageSize: getPageSize(), dataBytes: 0 };
}

/** Mounts, checks the merged view and the cwd, unmounts; returns a problem description or ''. */
async function mountAndCheck(s: LayerStack, name: PlanName, isolation: Isolation): Promise<string> {
  const cwd = process.cwd();
  await runPlan(plans[name](s), { isolation });
  try {
    if (process.cwd() !== cwd) return `cwd changed to ${process.cwd()}`;
    if (!isMountpoint(s.target)) return 'target is not a mount point';
    const info = readMountinfo().find((m) => m.mountPoint === s.target);
    if (info?.fstype !== 'overlay') return `mounted ${info?.fstype}, want overlay`;
    return checkMerged(s);
  } finally {
    umount2(s.target);
  }
}

const needsFeature = (name: PlanName) =>
  name === 'fsconfig SET_FD' ? features.setFd : name.startsWith('fsconfig') ? features.lowerdirPlus : true;

for (const [count, names] of [
  [
    2,
    [
      'absolute',
      'link-relative',
      'link-relative+chroot',
      'fd-relative',
      'fsconfig lowerdir+',
      'fsconfig SET_FD',
    ],
  ],
  [128, ['link-relative', 'fd-relative', 'fsconfig lowerdir+', 'fsconfig SET_FD']],
  [500, ['link-relative', 'link-relative+chroot', 'fd-relative', 'fsconfig lowerdir+', 'fsconfig SET_FD']],
] as Array<[number, PlanName[]]>) {
  const test = suite(`runPlan: ${count} lower layers`);
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
  for (const name of names) {
    // Every strategy on the mount thread; the cwd-changing ones once more through a child process.
    const modes: Isolation[] =
      name === 'absolute' || name.startsWith('fsconfig') ? ['thread'] : ['thread', 'process'];
    for (const isolation of modes) {
      test(`${name} (${isolation})`, async () => {
        if (skipReason) return console.log(`  skip: ${skipReason}`);
        if (!needsFeature(name)) return console.log(`  skip ${name}: the kernel lacks it`);
        assert.is(await mountAndCheck(stack!, name, isolation), '');
      });
    }
  }
  if (count > 2) {
    test('absolute does not fit one page and is refused before the kernel truncates it', async () => {
      if (skipReason) return console.log(`  skip: ${skipReason}`);
      const err = await rejection(runPlan(plans.absolute(stack!)));
      assert.is(err.code, 'EINVAL');
      assert.match(err.message, `the kernel keeps only ${getPageSize() - 1}`);
      assert.ok(!isMountpoint(stack!.target));
    });
  }
  test.run();
}

const limits = suite('runPlan: errors');
let t501: ReturnType<typeof tempDir> | undefined;
let s501: LayerStack | undefined;
limits.before(() => {
  if (skipReason) return;
  t501 = tempDir();
  s501 = buildStack(t501.dir, 501);
});
limits.after(() => {
  if (s501 && isMountpoint(s501.target)) umount2(s501.target, MNT_DETACH);
  t501?.remove();
});
for (const name of ['fd-relative', 'fsconfig lowerdir+', 'link-relative'] as PlanName[]) {
  limits(`501 layers (${name}) fail with a clear error`, async () => {
    if (skipReason) return console.log(`  skip: ${skipReason}`);
    if (!needsFeature(name)) return console.log(`  skip ${name}: the kernel lacks it`);
    const cwd = process.cwd();
    const err = await rejection(runPlan(plans[name](s501!)));
    assert.is(err.code, 'EINVAL');
    assert.is(err.step, 0);
    assert.match(err.message, 'overlayfs stacks at most 500 lower layers and this mount asks for 501');
    assert.ok(!isMountpoint(s501!.target));
    assert.is(process.cwd(), cwd);
  });
}
limits('EINVAL for a bad option string shows the string (mount(2), in a cwd)', async () => {
  if (skipReason) return console.log(`  skip: ${skipReason}`);
  const s = s501!;
  const data = `lowerdir=${s.linkNames.slice(0, 3).join(':')},upperdir=upper,workdir=work,no_such_option=1`;
  for (const isolation of ['thread', 'process'] as Isolation[]) {
    const err = await rejection(
      runPlan(
        plan('link-relative', [
          {
            kind: 'mount',
            source: 'overlay',
            target: s.target,
            fstype: 'overlay',
            flags: 0,
            data,
            cwd: s.home,
          },
        ]),
        { isolation },
      ),
    );
    assert.instance(err, SyscallError);
    assert.is(err.code, 'EINVAL');
    assert.is(err.syscall, 'mount');
    assert.is(err.path, s.target);
    assert.match(err.message, `"${data}"`);
    assert.match(err.message, 'step 1 of 1');
  }
});
limits('EINVAL for a bad option after 500 layers still shows that option', async () => {
  if (skipReason) return console.log(`  skip: ${skipReason}`);
  const s = s501!;
  const data = `lowerdir=${s.linkNames.slice(0, 500).join(':')},upperdir=upper,workdir=work,no_such_option=1`;
  assert.ok(data.length > 2000);
  const err = await rejection(
    runPlan(
      plan('link-relative', [
        {
          kind: 'mount',
          source: 'overlay',
          target: s.target,
          fstype: 'overlay',
          flags: 0,
          data,
          cwd: s.home,
        },
      ]),
    ),
  );
  assert.is(err.code, 'EINVAL');
  assert.match(err.message, `data ${data.length} bytes: "lowerdir=${s.linkNames[0]}:`);
  assert.match(err.message, 'upperdir=upper,workdir=work,no_such_option=1"');
});
limits('EINVAL from fsconfig names the parameter and the kernel log', async () => {
  if (skipReason) return console.log(`  skip: ${skipReason}`);
  if (!features.lowerdirPlus) return console.log('  skip: no lowerdir+');
  const s = s501!;
  const p = fsconfigPlan({ ...s, lowers: s.lowers.slice(0, 2) }, false);
  const step = p.steps[0]!;
  if (step.kind === 'fsconfig') step.params.push({ type: 'string', key: 'no_such_option', value: '1' });
  const err = await rejection(runPlan(p));
  assert.is(err.code, 'EINVAL');
  assert.is(err.syscall, 'fsconfig');
  assert.match(err.message, '"no_such_option=1"');
  assert.match(err.message, "Unknown parameter 'no_such_option'");
});
limits('a failing later step detaches what the plan mounted', async () => {
  if (skipReason) return console.log(`  skip: ${skipReason}`);
  const s = s501!;
  const first = plans.absolute({ ...s, lowers: s.lowers.slice(0, 2) }).steps[0]!;
  const err = await rejection(
    runPlan(
      plan('absolute', [
        first,
        {
          kind: 'mount',
          source: 'none',
          target: join(s.home, 'nonexistent'),
          fstype: 'tmpfs',
          flags: 0,
          data: '',
        },
      ]),
    ),
  );
  assert.is(err.code, 'ENOENT');
  assert.is(err.step, 1);
  assert.match(err.message, `detached again: ${s.target}`);
  assert.ok(!isMountpoint(s.target));
});
limits.after(() => stopMountThread());
limits.run();

async function rejection(p: Promise<unknown>): Promise<SyscallError> {
  try {
    await p;
  } catch (e) {
    return e as SyscallError;
  }
  throw new Error('expected runPlan to fail');
}
