// The driver operations as scenarios for any Harness: create/get/put/remove/exists/status/metadata/cleanup,
// counted references, a base layer's get, read-only stacks, and deep stacks under long homes. The exact
// mount(2)/umount2(2) calls are asserted through `check` (the recorded harness compares them; the real one
// checks the mount table and the merged tree instead).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { planAufsMount } from '@ovl/mountopts';
import * as assert from 'uvu/assert';
import { MS_RDONLY, MS_REMOUNT } from './aufs-grammar.js';
import { createChain, sha } from './fixtures.js';
import type { Scenario } from './harness.js';
import { checkAufsPlan } from './plan-check.js';

export async function assertRejects(p: Promise<unknown>, code: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.is((e as { code?: string }).code, code, String(e));
    return;
  }
  assert.unreachable(`expected ${code}`);
}

const create: Scenario = {
  name: 'create writes the parent chain; a base layer get/put makes no calls',
  async run(h) {
    const r = await h.start('base');
    try {
      const { driver, home } = r;
      const [a, b, c] = await createChain(driver, 3);
      assert.is(readFileSync(join(home, 'layers', a!), 'utf8'), '');
      assert.is(readFileSync(join(home, 'layers', c!), 'utf8'), `${b}\n${a}\n`);
      assert.ok(existsSync(join(home, 'diff', c!)) && existsSync(join(home, 'mnt', c!)));
      assert.is(await driver.get(a!), join(home, 'diff', a!));
      await driver.put(a!);
      await r.check({ calls: [], mounts: [] });
      assert.ok(await driver.exists(b!));
      assert.not.ok(await driver.exists(sha('nope')));
      await assertRejects(driver.create(b!, a), 'ERR_OVL_LAYER_EXISTS');
      await assertRejects(driver.create(sha('x'), sha('missing')), 'ERR_OVL_LAYER_NOT_FOUND');
      await assertRejects(driver.create('../escape'), 'ERR_OVL_BAD_LAYER_ID');
      await assertRejects(driver.get(sha('missing')), 'ERR_OVL_LAYER_NOT_FOUND');
    } finally {
      await r.done();
    }
  },
};

const twoLayers: Scenario = {
  name: 'two layers: one mount(2) with the seed data; counted gets; last put unmounts',
  async run(h) {
    const r = await h.start('two');
    try {
      const { driver, home } = r;
      const [a, b] = await createChain(driver, 2);
      writeFileSync(join(home, 'diff', a!, 'base'), 'from a');
      const mnt = join(home, 'mnt', b!);
      const stack = [join(home, 'diff', b!), join(home, 'diff', a!)];
      assert.is(await driver.get(b!), mnt);
      assert.is(await driver.get(b!), mnt);
      const data = `br:${home}/diff/${b}=rw:${home}/diff/${a}=ro+wh,dio,xino=/dev/shm/aufs.xino`;
      await r.check({ calls: [['mount', 'none', mnt, 'aufs', 0, data]], mounts: [{ point: mnt, stack }] });
      await driver.put(b!);
      await r.check({ calls: [], mounts: [{ point: mnt, stack }], msg: 'still held once: no unmount' });
      await driver.put(b!);
      await r.check({ calls: [['umount2', mnt, 0]], mounts: [] });
      await driver.put(b!); // not held any more: nothing to do
      await r.check({ calls: [], mounts: [] });
    } finally {
      await r.done();
    }
  },
};

const concurrent: Scenario = {
  name: 'concurrent gets mount once; concurrent puts unmount once',
  async run(h) {
    const r = await h.start('concurrent');
    try {
      const { driver, home } = r;
      const [a, b] = await createChain(driver, 2);
      const mnt = join(home, 'mnt', b!);
      const stack = [join(home, 'diff', b!), join(home, 'diff', a!)];
      const points = await Promise.all(Array.from({ length: 6 }, () => driver.get(b!)));
      assert.equal(new Set(points), new Set([mnt]));
      await r.check({
        calls: (k) =>
          assert.equal(
            k.map((c) => c[0]),
            ['mount'],
          ),
        mounts: [{ point: mnt, stack }],
      });
      assert.is(await driver.store.refs.count(b!), 6);
      await Promise.all(Array.from({ length: 6 }, () => driver.put(b!)));
      await r.check({
        calls: (k) =>
          assert.equal(
            k.map((c) => c[0]),
            ['umount2'],
          ),
        mounts: [],
      });
    } finally {
      await r.done();
    }
  },
};

const readOnly: Scenario = {
  name: 'readOnly puts MS_RDONLY on the mount and every remount; extra options are refused',
  branches: 80,
  async run(h) {
    const r = await h.start('ro', { longBytes: 200, driver: { maxDepth: 256 } });
    try {
      const { driver, home } = r;
      const ids = await createChain(driver, 80);
      const top = ids.at(-1)!;
      await assertRejects(driver.get(top, { options: ['nodev'] }), 'ERR_OVL_BAD_OPTION');
      await r.check({ calls: [], mounts: [] });
      const mnt = await driver.get(top, { readOnly: true });
      const stack = [...ids].reverse().map((id) => join(home, 'diff', id));
      await r.check({
        calls: (k) => {
          assert.ok(k.length > 1);
          k.forEach((c, i) => {
            assert.is(c[4], i === 0 ? MS_RDONLY : MS_REMOUNT | MS_RDONLY);
          });
        },
        mounts: [{ point: mnt, stack, readOnly: true }],
      });
      assert.is(mnt, join(home, 'mnt', top));
    } finally {
      await r.done();
    }
  },
};

const deep = (n: number): Scenario => ({
  name: `${n} layers under a long home: first mount then append remounts carry the whole stack`,
  branches: n,
  async run(h) {
    const r = await h.start(`deep${n}`, { longBytes: 200, driver: { maxDepth: 256 } });
    try {
      const { driver, home } = r;
      const ids = await createChain(driver, n);
      // a file per layer, so that a real mount shows whether every branch is in it
      for (const [i, id] of ids.entries()) writeFileSync(join(home, 'diff', id, `layer-${i + 1}`), id);
      const top = ids[n - 1]!;
      const mnt = join(home, 'mnt', top);
      await driver.get(top);
      const expected = [...ids].reverse().map((id) => join(home, 'diff', id));
      await r.check({
        calls: (k) => {
          assert.ok(k.length > 1, 'more than one call');
          k.forEach((c, i) => {
            assert.equal(c.slice(0, 4), ['mount', 'none', mnt, 'aufs']);
            assert.is(c[4], i === 0 ? 0 : MS_REMOUNT);
          });
          // the exact calls: the seeds' packing of exactly this stack (each call full, checked by
          // checkAufsPlan), with Docker's options on the first call only
          const plan = planAufsMount({
            target: mnt,
            rw: expected[0]!,
            ro: expected.slice(1),
            pageSize: 4096,
          });
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
        },
        mounts: [{ point: mnt, stack: expected }],
      });
      await driver.put(top);
      await r.check({ calls: [['umount2', mnt, 0]], mounts: [] });
    } finally {
      await r.done();
    }
  },
});

const remove: Scenario = {
  name: 'remove unmounts a mounted layer and leaves nothing behind',
  async run(h) {
    const r = await h.start('remove');
    try {
      const { driver, home } = r;
      const [a, b] = await createChain(driver, 2);
      const mnt = join(home, 'mnt', b!);
      await driver.get(b!);
      const data = `br:${home}/diff/${b}=rw:${home}/diff/${a}=ro+wh,dio,xino=/dev/shm/aufs.xino`;
      await r.check({
        calls: [['mount', 'none', mnt, 'aufs', 0, data]],
        mounts: [{ point: mnt, stack: [join(home, 'diff', b!), join(home, 'diff', a!)] }],
      });
      await driver.remove(b!);
      await r.check({ calls: [['umount2', mnt, 0]], mounts: [] });
      assert.not.ok(await driver.exists(b!));
      for (const d of ['layers', 'diff', 'mnt']) assert.equal(readdirSync(join(home, d)), [a], d);
      await driver.remove(b!); // gone already: not an error, as in the overlay driver
      assert.ok(await driver.exists(a!));
    } finally {
      await r.done();
    }
  },
};

const cleanup: Scenario = {
  name: 'cleanup unmounts every mounted layer',
  async run(h) {
    const r = await h.start('cleanup');
    try {
      const { driver, home } = r;
      const ids = await createChain(driver, 4);
      for (const id of ids) await driver.get(id);
      await driver.get(ids[3]!);
      const diffs = ids.map((id) => join(home, 'diff', id));
      await r.check({
        calls: (k) => assert.is(k.length, 3, 'three stacked layers mounted, the base not'),
        mounts: ids.slice(1).map((id, i) => ({
          point: join(home, 'mnt', id),
          stack: diffs.slice(0, i + 2).reverse(),
        })),
      });
      await driver.cleanup();
      await r.check({
        calls: (after) => {
          assert.equal(
            after.map((c) => c[0]),
            ['umount2', 'umount2', 'umount2'],
          );
          assert.equal(
            after.map((c) => c[1]).sort(),
            ids
              .slice(1)
              .map((id) => join(home, 'mnt', id))
              .sort(),
          );
        },
        mounts: [],
      });
      for (const id of ids.slice(1)) assert.is(await driver.store.refs.count(id), 0);
    } finally {
      await r.done();
    }
  },
};

const status: Scenario = {
  name: 'status and metadata',
  async run(h) {
    const r = await h.start('status', { fsName: 'xfs' });
    try {
      const { driver, home } = r;
      const [a, b] = await createChain(driver, 2);
      assert.equal(await driver.status(), [
        ['Root Dir', home],
        ['Backing Filesystem', r.backingFs],
        ['Dirs', '2'],
        ['Dirperm1 Supported', String(r.dirperm1)],
      ]);
      assert.equal(await driver.metadata(b!), {
        DiffDir: join(home, 'diff', b!),
        MergedDir: join(home, 'mnt', b!),
        LowerDir: join(home, 'diff', a!),
        Parents: a,
      });
      assert.equal((await driver.metadata(a!)).MergedDir, join(home, 'diff', a!));
    } finally {
      await r.done();
    }
  },
};

export const driverScenarios: Scenario[] = [
  create,
  twoLayers,
  concurrent,
  readOnly,
  deep(50),
  deep(200),
  remove,
  cleanup,
  status,
];
