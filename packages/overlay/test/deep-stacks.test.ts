import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { makedev, mknod, probeOverlayFeatures, S_IFCHR } from '@ovl/syscall';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { OverlayDriver } from '../src/index.js';
import { mountCount, rejects, skipUnlessRoot, tempHome } from './helpers.js';

const test = suite('overlay driver: deep stacks');

/** A chain of n layers; layer i adds keep/k<i> and add<i>, and deletes add<i-1> with a whiteout. */
async function buildChain(d: OverlayDriver, n: number): Promise<string> {
  let parent: string | undefined;
  for (let i = 0; i < n; i++) {
    const id = `layer-${i}`;
    await d.create(id, parent);
    const diff = join(d.store.home, id, 'diff');
    mkdirSync(join(diff, 'keep'), { recursive: true });
    writeFileSync(join(diff, 'keep', `k${i}`), String(i));
    writeFileSync(join(diff, `add${i}`), `added by ${i}`);
    if (i > 0) mknod(join(diff, `add${i - 1}`), S_IFCHR, makedev(0, 0));
    parent = id;
  }
  return parent as string;
}

function checkTop(merged: string, n: number): void {
  const keep = readdirSync(join(merged, 'keep'));
  assert.is(keep.length, n);
  assert.is(readFileSync(join(merged, 'keep', 'k0'), 'utf8'), '0');
  assert.is(readFileSync(join(merged, 'keep', `k${n - 1}`), 'utf8'), String(n - 1));
  assert.equal(
    readdirSync(merged).filter((f) => f.startsWith('add')),
    [`add${n - 1}`],
  );
}

for (const [n, strategies] of [
  [128, ['auto', 'link-relative', 'fd-relative']],
  [500, ['auto', 'fsconfig', 'fd-relative']],
] as const) {
  test(`${n} layers, each adding and deleting files, read through get with ${strategies.join(', ')}`, async () => {
    if (skipUnlessRoot(`${n} layers`)) return;
    const t = tempHome();
    try {
      const top = await buildChain(await OverlayDriver.init(t.dir), n);
      const { lowerdirPlus } = probeOverlayFeatures();
      for (const strategy of strategies) {
        if (strategy === 'fsconfig' && !lowerdirPlus) {
          // Forcing the new API where the kernel lacks it is refused at init, not at the first mount.
          const err = await rejects(() => OverlayDriver.init(t.dir, { strategy }));
          assert.is((err as { code?: string }).code, 'ERR_OVL_NOT_SUPPORTED');
          assert.match((err as Error).message, 'lowerdir+');
          console.log(`  fsconfig refused at init on ${release()} (no lowerdir+)`);
          continue;
        }
        const d = await OverlayDriver.init(t.dir, { strategy });
        const merged = await d.get(top);
        try {
          checkTop(merged, n);
          const ran = Object.fromEntries(await d.status())['Last mount strategy'];
          // absolute paths never fit 128+ layers: auto takes the new API where the kernel has it,
          // else the fd-relative fallback
          assert.is(ran, strategy === 'auto' ? (lowerdirPlus ? 'fsconfig' : 'fd-relative') : strategy);
        } finally {
          await d.put(top);
        }
        assert.is(mountCount(merged), 0);
      }
    } finally {
      t.done();
    }
  });
}

test('with a maximum depth of 128 (Docker), a 129th layer is refused at create with ERR_OVL_MAX_DEPTH', async () => {
  if (skipUnlessRoot('max depth')) return;
  const t = tempHome();
  try {
    const d = await OverlayDriver.init(t.dir, { maxDepth: 128 });
    const top = await buildChain(d, 128);
    const err = await rejects(() => d.create('one-too-many', top));
    assert.is(err.code, 'ERR_OVL_MAX_DEPTH');
    assert.match(err.message, /128/);
  } finally {
    t.done();
  }
});

test.run();
