// Every driver operation against @ovl/syscall's recording layer: the exact mount(2)/umount2(2) calls, their
// data checked by the aufs grammar, reference counting, rollback, and the store's files.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { planAufsMount } from '@ovl/mountopts';
import type { RecordedCall } from '@ovl/syscall';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isAufsError } from '../src/index.js';
import { AufsKernelModel, MS_RDONLY, MS_REMOUNT } from './aufs-grammar.js';
import { createChain, recordedDriver, sha, tempHome } from './fixtures.js';
import { checkAufsPlan } from './plan-check.js';

const MNT_DETACH = 2;
/** mount and umount2 calls only (runPlan and statfs records are bookkeeping) */
const kernelCalls = (calls: RecordedCall[]) =>
  calls.filter((c) => c.name === 'mount' || c.name === 'umount2').map((c) => [c.name, ...c.args]);

/** Replays recorded calls through the aufs model: every data string must parse; returns the model. */
function replay(calls: RecordedCall[]): AufsKernelModel {
  const k = new AufsKernelModel();
  for (const c of calls) {
    if (c.name === 'mount') {
      const [source, target, fstype, flags, data] = c.args as [string, string, string, number, string];
      k.mount({ source, target, fstype, flags, data });
    } else if (c.name === 'umount2') k.umount(c.args[0] as string);
  }
  return k;
}

const Ops = suite('driver operations, recorded');

Ops('init probes dirperm1 with a throw-away mount, then unmounts it', async () => {
  const t = tempHome('probe');
  try {
    const { driver, calls } = await recordedDriver(t.home, { dirperm1: 'auto' });
    assert.is(driver.dirperm1, true);
    const k = kernelCalls(calls);
    assert.is(k.length, 2);
    const [mountCall, umountCall] = k as [unknown[], unknown[]];
    assert.equal([mountCall[0], mountCall[1], mountCall[3], mountCall[4]], ['mount', 'none', 'aufs', 0]);
    const union = mountCall[2] as string;
    assert.ok(union.startsWith(join(t.home, 'mnt', '.tmp-dirperm1-')) && union.endsWith('/union'));
    assert.is(mountCall[5], `br:${union.replace(/union$/, 'base')}=rw,dirperm1`);
    assert.equal(umountCall, ['umount2', union, 0]);
    replay(calls);
    assert.equal(readdirSync(join(t.home, 'mnt')), [], 'the probe dir is gone');
    // a kernel that refuses dirperm1: the probe fails and nothing is left mounted
    const refused = await recordedDriver(
      t.home,
      { dirperm1: 'auto' },
      { onCall: (c) => (c.name === 'mount' ? 'EINVAL' : undefined) },
    );
    assert.is(refused.driver.dirperm1, false);
    assert.is(kernelCalls(refused.calls).length, 1);
  } finally {
    t.cleanup();
  }
});

Ops('create writes the parent chain; a base layer get/put makes no calls', async () => {
  const t = tempHome('base');
  try {
    const { driver, calls } = await recordedDriver(t.home);
    const [a, b, c] = await createChain(driver, 3);
    assert.is(readFileSync(join(t.home, 'layers', a!), 'utf8'), '');
    assert.is(readFileSync(join(t.home, 'layers', c!), 'utf8'), `${b}\n${a}\n`);
    assert.ok(existsSync(join(t.home, 'diff', c!)) && existsSync(join(t.home, 'mnt', c!)));
    assert.is(await driver.get(a!), join(t.home, 'diff', a!));
    await driver.put(a!);
    assert.equal(kernelCalls(calls), []);
    assert.ok(await driver.exists(b!));
    assert.not.ok(await driver.exists(sha('nope')));
    await assert_rejects(driver.create(b!, a), 'ERR_OVL_LAYER_EXISTS');
    await assert_rejects(driver.create(sha('x'), sha('missing')), 'ERR_OVL_LAYER_NOT_FOUND');
    await assert_rejects(driver.create('../escape'), 'ERR_OVL_BAD_LAYER_ID');
    await assert_rejects(driver.get(sha('missing')), 'ERR_OVL_LAYER_NOT_FOUND');
  } finally {
    t.cleanup();
  }
});

Ops('two layers: one mount(2) with the seed data; counted gets; last put unmounts', async () => {
  const t = tempHome('two');
  try {
    const { driver, calls, mounts } = await recordedDriver(t.home);
    const [a, b] = await createChain(driver, 2);
    const mnt = join(t.home, 'mnt', b!);
    assert.is(await driver.get(b!), mnt);
    assert.is(await driver.get(b!), mnt);
    const data = `br:${t.home}/diff/${b}=rw:${t.home}/diff/${a}=ro+wh,dio,xino=/dev/shm/aufs.xino`;
    assert.equal(kernelCalls(calls), [['mount', 'none', mnt, 'aufs', 0, data]]);
    assert.ok(mounts.has(mnt));
    await driver.put(b!);
    assert.is(kernelCalls(calls).length, 1, 'still held once: no unmount');
    await driver.put(b!);
    assert.equal(kernelCalls(calls)[1], ['umount2', mnt, 0]);
    assert.not.ok(mounts.has(mnt));
    await driver.put(b!); // not held any more: nothing to do
    assert.is(kernelCalls(calls).length, 2);
    replay(calls);
  } finally {
    t.cleanup();
  }
});

Ops('concurrent gets mount once; concurrent puts unmount once', async () => {
  const t = tempHome('concurrent');
  try {
    const { driver, calls, mounts } = await recordedDriver(t.home);
    const [, b] = await createChain(driver, 2);
    const mnt = join(t.home, 'mnt', b!);
    const points = await Promise.all(Array.from({ length: 6 }, () => driver.get(b!)));
    assert.equal(new Set(points), new Set([mnt]));
    assert.equal(
      kernelCalls(calls).map((c) => c[0]),
      ['mount'],
    );
    assert.is(await driver.store.refs.count(b!), 6);
    await Promise.all(Array.from({ length: 6 }, () => driver.put(b!)));
    assert.equal(
      kernelCalls(calls).map((c) => c[0]),
      ['mount', 'umount2'],
    );
    assert.not.ok(mounts.has(mnt));
  } finally {
    t.cleanup();
  }
});

Ops('a busy mount is detached on the last put; a stale mount is replaced on the first get', async () => {
  const t = tempHome('busy');
  try {
    const b = sha('2'); // the top of createChain(driver, 2)
    const mnt = join(t.home, 'mnt', b);
    const { driver, calls, mounts } = await recordedDriver(
      t.home,
      {},
      {
        mounted: [mnt], // left mounted by a process that died
        onCall: (c) => (c.name === 'umount2' && c.args[1] === 0 ? 'EBUSY' : undefined),
      },
    );
    assert.equal((await createChain(driver, 2))[1], b);
    await driver.get(b);
    const k = kernelCalls(calls);
    assert.equal(k[0], ['umount2', mnt, MNT_DETACH]);
    assert.is(k[1]?.[0], 'mount');
    await driver.put(b);
    assert.equal(kernelCalls(calls).slice(2), [
      ['umount2', mnt, 0],
      ['umount2', mnt, MNT_DETACH],
    ]);
    assert.not.ok(mounts.has(mnt));
  } finally {
    t.cleanup();
  }
});

Ops('the mount label rides on the data; xino and dirperm1 options', async () => {
  const t = tempHome('label');
  try {
    const { driver, calls } = await recordedDriver(t.home, { dirperm1: true, xino: '/run/aufs.xino' });
    const [a, b] = await createChain(driver, 2);
    await driver.get(b!, { mountLabel: 'system_u:object_r:container_file_t:s0:c1,c2' });
    const data =
      `br:${t.home}/diff/${b}=rw:${t.home}/diff/${a}=ro+wh,dio,xino=/run/aufs.xino,dirperm1,` +
      'context="system_u:object_r:container_file_t:s0:c1,c2"';
    assert.equal(kernelCalls(calls), [['mount', 'none', join(t.home, 'mnt', b!), 'aufs', 0, data]]);
    replay(calls);
  } finally {
    t.cleanup();
  }
});

Ops('readOnly puts MS_RDONLY on the mount and every remount; extra options are refused', async () => {
  const t = tempHome('ro', 200);
  try {
    const { driver, calls } = await recordedDriver(t.home, { maxDepth: 256 });
    const ids = await createChain(driver, 80);
    const top = ids.at(-1)!;
    await assert_rejects(driver.get(top, { options: ['nodev'] }), 'ERR_OVL_BAD_OPTION');
    assert.equal(kernelCalls(calls), []);
    await driver.get(top, { readOnly: true });
    const k = kernelCalls(calls);
    assert.ok(k.length > 1);
    k.forEach((c, i) => {
      assert.is(c[4], i === 0 ? MS_RDONLY : MS_REMOUNT | MS_RDONLY);
    });
    assert.is(replay(calls).stack(join(t.home, 'mnt', top)).length, 80);
  } finally {
    t.cleanup();
  }
});

Ops("driver options in Docker's spelling: aufs.xino, aufs.dirperm1; unknown keys refused", async () => {
  const t = tempHome('dopts');
  try {
    const { driver, calls } = await recordedDriver(t.home, {
      dirperm1: undefined,
      driverOptions: ['aufs.xino=/run/x.xino', 'aufs.dirperm1=true'],
    });
    assert.is(driver.dirperm1, true);
    const [a, b] = await createChain(driver, 2);
    await driver.get(b!);
    assert.equal(kernelCalls(calls).at(-1), [
      'mount',
      'none',
      join(t.home, 'mnt', b!),
      'aufs',
      0,
      `br:${t.home}/diff/${b}=rw:${t.home}/diff/${a}=ro+wh,dio,xino=/run/x.xino,dirperm1`,
    ]);
    await assert_rejects(recordedDriver(t.home, { driverOptions: ['aufs.nope=1'] }), 'ERR_OVL_BAD_OPTION');
    await assert_rejects(
      recordedDriver(t.home, { driverOptions: ['overlay.size=1G'] }),
      'ERR_OVL_BAD_OPTION',
    );
  } finally {
    t.cleanup();
  }
});

for (const n of [50, 200]) {
  Ops(`${n} layers under a long home: first mount then append remounts carry the whole stack`, async () => {
    const t = tempHome(`deep${n}`, 200);
    try {
      const { driver, calls } = await recordedDriver(t.home, { maxDepth: 256 });
      const ids = await createChain(driver, n);
      const top = ids[n - 1]!;
      const mnt = join(t.home, 'mnt', top);
      await driver.get(top);
      const k = kernelCalls(calls);
      assert.ok(k.length > 1, 'more than one call');
      k.forEach((c, i) => {
        assert.equal(c.slice(0, 4), ['mount', 'none', mnt, 'aufs']);
        assert.is(c[4], i === 0 ? 0 : MS_REMOUNT);
      });
      const model = replay(calls);
      const expected = [...ids].reverse().map((id) => join(t.home, 'diff', id));
      assert.equal(model.stack(mnt), expected);
      // the exact calls: the seeds' packing of exactly this stack (each call full, checked by checkAufsPlan),
      // with Docker's options on the first call only
      const plan = planAufsMount({ target: mnt, rw: expected[0]!, ro: expected.slice(1), pageSize: 4096 });
      checkAufsPlan(plan, mnt);
      assert.equal(
        k,
        plan.steps.map((s) =>
          s.kind === 'mount' ? ['mount', s.source, s.target, s.fstype, s.flags, s.data] : [],
        ),
      );
      assert.ok((k[0]![5] as string).startsWith(`br:${expected[0]}=rw:${expected[1]}=ro+wh:`));
      assert.ok((k[0]![5] as string).endsWith(',dio,xino=/dev/shm/aufs.xino'));
      for (const c of k.slice(1))
        assert.match(c[5] as string, /^append:[^,]+=ro\+wh(,append:[^,]+=ro\+wh)*$/);
      await driver.put(top);
      assert.equal(kernelCalls(calls).at(-1), ['umount2', mnt, 0]);
    } finally {
      t.cleanup();
    }
  });
}

Ops('a failed remount rolls back: the target is detached, nothing is counted, a retry works', async () => {
  const t = tempHome('rollback', 200);
  try {
    let mountCalls = 0;
    let failAt = 3;
    const { driver, calls, mounts } = await recordedDriver(
      t.home,
      { maxDepth: 256 },
      {
        onCall: (c) => {
          if (c.name !== 'mount') return undefined;
          mountCalls++;
          return mountCalls === failAt ? 'EINVAL' : undefined;
        },
      },
    );
    const ids = await createChain(driver, 120);
    const top = ids.at(-1)!;
    const mnt = join(t.home, 'mnt', top);
    let err: unknown;
    try {
      await driver.get(top);
    } catch (e) {
      err = e;
    }
    assert.ok(isAufsError(err, 'ERR_OVL_MOUNT_FAILED'), String(err));
    const e = err as Error & { step?: number; path?: string };
    assert.is(e.step, 2, 'the third step failed');
    assert.is(e.path, mnt);
    assert.match(e.message, /step 3 of \d+/);
    assert.match(e.message, /EINVAL/);
    const k = kernelCalls(calls);
    assert.equal(
      k.map((c) => [c[0], c[1] === 'none' ? c[4] : c[2]]),
      [
        ['mount', 0],
        ['mount', MS_REMOUNT],
        ['mount', MS_REMOUNT],
        ['umount2', MNT_DETACH],
      ],
    );
    assert.equal(k[3], ['umount2', mnt, MNT_DETACH]);
    assert.not.ok(mounts.has(mnt));
    assert.is(await driver.store.refs.count(top), 0);
    // the first mount failing: nothing to undo
    calls.length = 0;
    mountCalls = 0;
    failAt = 1;
    await assert_rejects(driver.get(top), 'ERR_OVL_MOUNT_FAILED');
    assert.equal(
      kernelCalls(calls).map((c) => c[0]),
      ['mount'],
    );
    // and with the kernel willing again, the same get mounts the whole stack
    calls.length = 0;
    failAt = -1;
    await driver.get(top);
    assert.equal(replay(calls).stack(mnt).length, 120);
  } finally {
    t.cleanup();
  }
});

Ops('remove unmounts a mounted layer and leaves nothing behind', async () => {
  const t = tempHome('remove');
  try {
    const { driver, calls, mounts } = await recordedDriver(t.home);
    const [a, b] = await createChain(driver, 2);
    const mnt = join(t.home, 'mnt', b!);
    await driver.get(b!);
    await driver.remove(b!);
    assert.equal(kernelCalls(calls).at(-1), ['umount2', mnt, 0]);
    assert.not.ok(mounts.has(mnt));
    assert.not.ok(await driver.exists(b!));
    for (const d of ['layers', 'diff', 'mnt']) assert.equal(readdirSync(join(t.home, d)), [a], d);
    await driver.remove(b!); // gone already: not an error, as in the overlay driver
    assert.ok(await driver.exists(a!));
  } finally {
    t.cleanup();
  }
});

Ops('cleanup unmounts every mounted layer', async () => {
  const t = tempHome('cleanup');
  try {
    const { driver, calls, mounts } = await recordedDriver(t.home);
    const ids = await createChain(driver, 4);
    for (const id of ids) await driver.get(id);
    await driver.get(ids[3]!);
    const before = kernelCalls(calls).length;
    assert.is(before, 3, 'three stacked layers mounted, the base not');
    await driver.cleanup();
    const after = kernelCalls(calls).slice(before);
    assert.equal(
      after.map((c) => c[0]),
      ['umount2', 'umount2', 'umount2'],
    );
    assert.equal(
      after.map((c) => c[1]).sort(),
      ids
        .slice(1)
        .map((id) => join(t.home, 'mnt', id))
        .sort(),
    );
    assert.is(mounts.size, 0);
    for (const id of ids.slice(1)) assert.is(await driver.store.refs.count(id), 0);
  } finally {
    t.cleanup();
  }
});

Ops('status and metadata', async () => {
  const t = tempHome('status');
  try {
    const { driver } = await recordedDriver(t.home, {}, { fsName: 'xfs' });
    const [a, b] = await createChain(driver, 2);
    assert.equal(await driver.status(), [
      ['Root Dir', t.home],
      ['Backing Filesystem', 'xfs'],
      ['Dirs', '2'],
      ['Dirperm1 Supported', 'false'],
    ]);
    assert.equal(await driver.metadata(b!), {
      DiffDir: join(t.home, 'diff', b!),
      MergedDir: join(t.home, 'mnt', b!),
      LowerDir: join(t.home, 'diff', a!),
      Parents: a,
    });
    assert.equal((await driver.metadata(a!)).MergedDir, join(t.home, 'diff', a!));
  } finally {
    t.cleanup();
  }
});

async function assert_rejects(p: Promise<unknown>, code: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.is((e as { code?: string }).code, code, String(e));
    return;
  }
  assert.unreachable(`expected ${code}`);
}

Ops.run();
