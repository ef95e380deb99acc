// Every driver operation against @ovl/syscall's recording layer: the exact mount(2)/umount2(2) calls, their
// data checked by the aufs grammar, reference counting, rollback, and the store's files. The operations a
// real aufs kernel can run too are scenarios (scenarios-driver.ts), registered here with the recorded
// harness and in real-aufs.test.ts with the real one; what only a recorder can do (refusing or failing
// calls on cue, pretending a mount is left over, labels without SELinux) stays here.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isAufsError } from '../src/index.js';
import { MS_REMOUNT } from './aufs-grammar.js';
import { createChain, recordedDriver, sha, tempHome } from './fixtures.js';
import { kernelCalls, recordedHarness, register, replay } from './harness.js';
import { assertRejects, driverScenarios } from './scenarios-driver.js';

const MNT_DETACH = 2;

const Ops = suite('driver operations, recorded');

register(Ops, recordedHarness, driverScenarios);

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
    await assertRejects(recordedDriver(t.home, { driverOptions: ['aufs.nope=1'] }), 'ERR_OVL_BAD_OPTION');
    await assertRejects(recordedDriver(t.home, { driverOptions: ['overlay.size=1G'] }), 'ERR_OVL_BAD_OPTION');
  } finally {
    t.cleanup();
  }
});

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
    await assertRejects(driver.get(top), 'ERR_OVL_MOUNT_FAILED');
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

Ops.run();
