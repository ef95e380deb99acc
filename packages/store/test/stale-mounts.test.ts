import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mountsUnder, OverlayStore, RefCounts } from '../src/index.js';
import { tempDir } from './helpers.js';

const test = suite('stale mounts cleared on open');
const root = process.getuid?.() === 0;
const umount = (p: string) => void execFileSync('umount', ['-l', p]);

test('a mount nobody holds is unmounted, a held one is kept', async () => {
  if (!root) {
    console.log('skip: mounting needs root');
    return;
  }
  const t = tempDir();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'fixtures/hold-ref.ts'), join(t.dir, '.refs'), 'held'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const s = await OverlayStore.open(t.dir, { unmount: umount });
    const stale = await s.create('stale');
    const held = await s.create('held');
    execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', stale.merged]);
    execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', held.merged]);
    let out = '';
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('held\n')) resolve();
      }),
    );
    assert.is(await new RefCounts(join(t.dir, '.refs')).count('held'), 1);
    const s2 = await OverlayStore.open(t.dir, { unmount: umount });
    assert.ok(s2);
    assert.equal(mountsUnder(t.dir), [held.merged]);
    // once its holder is killed, the next open clears it too
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    const r = await (await OverlayStore.open(t.dir, { unmount: umount, repair: false })).repair();
    assert.equal(r.unmounted, [held.merged]);
    assert.equal(mountsUnder(t.dir), []);
  } finally {
    child.kill('SIGKILL');
    for (const p of mountsUnder(t.dir)) umount(p);
    t.done();
  }
});

test('a file system mounted on the home itself is left alone', async () => {
  if (!root) {
    console.log('skip: mounting needs root');
    return;
  }
  const t = tempDir();
  try {
    execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', t.dir]);
    const s = await OverlayStore.open(t.dir, { unmount: umount });
    await s.create('a');
    const r = await (await OverlayStore.open(t.dir, { unmount: umount, repair: false })).repair();
    assert.equal(r.unmounted, []);
    assert.equal(mountsUnder(t.dir), [t.dir]);
    assert.ok(await s.exists('a'));
  } finally {
    for (const p of mountsUnder(t.dir)) umount(p);
    t.done();
  }
});

test.run();
