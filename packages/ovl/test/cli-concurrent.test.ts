// Several `ovl` processes on one store at once, as parallel CI jobs do: unpacks of images that share
// layers must neither remove each other's layers in progress nor, when one fails and rolls back, the
// base layers the other uses. Checked by the tree each image ends up with, not by exit codes alone.
import { spawn } from 'node:child_process';
import { cpSync, readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { openImage } from '@ovl/image';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cliJs, embeddedImage, isRoot, ovl, removeDir, tempDir } from './helpers/cli.js';
import { assertEmbeddedRootfs } from './helpers/expected-tree.js';

const test = suite('ovl: concurrent commands on one store');
const ctx = { work: '' };
test.before.each(() => {
  ctx.work = tempDir('concurrent');
});
test.after.each(() => removeDir(ctx.work));

function ovlAsync(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliJs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

const topId = async (image: string) => (await openImage(image)).chainIds.at(-1)!.replace('sha256:', '');

test('four unpacks of one image into a fresh vfs store at once: one set of layers, the right tree', async () => {
  const store = join(ctx.work, 'store');
  const args = ['unpack', embeddedImage, '--store', store, '--driver', 'vfs', '-q'];
  const runs = await Promise.all([1, 2, 3, 4].map(() => ovlAsync(args)));
  const top = await topId(embeddedImage);
  for (const r of runs) {
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout.trim(), top);
  }
  const ls = JSON.parse(ovl(['ls', '--json', '--store', store, '--driver', 'vfs']).stdout) as unknown[];
  assert.is(ls.length, 3, 'three layers, each once');
  assertEmbeddedRootfs(join(store, 'dir', top), { owners: isRoot });
});

test('a failing unpack rolling back beside a good one of an image sharing its base layers', async () => {
  // The broken copy differs from the good image only in its top layer blob, so both share the two
  // lower layers; the broken run creates them, fails on its top layer and removes what it created —
  // which must never be a layer the good run reuses or builds on.
  const broken = join(ctx.work, 'broken');
  cpSync(embeddedImage, broken, { recursive: true });
  const image = await openImage(broken);
  truncateSync(join(broken, 'blobs', 'sha256', image.layers.at(-1)!.digest.replace('sha256:', '')), 40);
  const top = await topId(embeddedImage);
  const drivers =
    isRoot && readFileSync('/proc/filesystems', 'utf8').includes('\toverlay') ? ['vfs', 'overlay'] : ['vfs'];
  for (const driver of drivers) {
    for (let round = 0; round < 3; round++) {
      const store = join(ctx.work, `store-${driver}-${round}`);
      const [bad, good] = await Promise.all([
        ovlAsync(['unpack', broken, '--store', store, '--driver', driver, '-q']),
        ovlAsync(['unpack', embeddedImage, '--store', store, '--driver', driver, '-q']),
      ]);
      // Layers are named by chain IDs, which come from the config's DiffIDs, not from the blobs: when the
      // good run finishes first the broken one finds every layer done and never reads its bad blob.
      assert.ok([0, 6].includes(bad.code), `${driver}: the broken image fails or reuses (${bad.stderr})`);
      assert.is(good.code, 0, `${driver}: the good image unpacks (${good.stderr})`);
      const ls = JSON.parse(ovl(['ls', '--json', '--store', store, '--driver', driver]).stdout) as Array<{
        id: string;
      }>;
      assert.is(ls.length, 3, `${driver}: the good image's three layers are all there`);
      if (driver === 'vfs') assertEmbeddedRootfs(join(store, 'dir', top), { owners: isRoot });
      else {
        const target = join(ctx.work, `mnt-${round}`);
        const m = ovl(['mount', embeddedImage, target, '--store', store, '--driver', driver, '-q']);
        assert.is(m.code, 0, m.stderr);
        try {
          assertEmbeddedRootfs(target, { owners: true });
        } finally {
          assert.is(ovl(['umount', target, '--store', store, '--driver', driver]).code, 0);
        }
      }
    }
  }
});

test.run();
