// The real harness's checks (merged-tree.ts), proven where they can be: the tree read through a real
// overlayfs mount of aufs branches converted to overlay format, compared with the branches' flattened tree,
// and the mount table entries for it. As root on a kernel with overlayfs; otherwise skipped, saying why.
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { planOverlayMount } from '@ovl/mountopts';
import { getPageSize, probeOverlayFeatures, runPlan, umount2 } from '@ovl/syscall';
import { apply, diff as tarDiff } from '@ovl/tar';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { aufsWhiteout, tempHome } from './fixtures.js';
import {
  assertMergedTree,
  flattenedTree,
  mountAt,
  mountsBelow,
  readMergedTree,
  reservedByAufs,
} from './merged-tree.js';

const skip =
  process.getuid?.() !== 0
    ? 'not root'
    : readFileSync('/proc/filesystems', 'utf8').includes('\toverlay')
      ? undefined
      : 'no overlayfs in this kernel';

/** Three aufs branches, top first: a modified file, a whiteout, an opaque dir, a symlink, modes. */
function branches(root: string): string[] {
  const [low, mid, top] = ['low', 'mid', 'top'].map((n) => join(root, 'br', n)) as [string, string, string];
  for (const d of [low, mid, top]) mkdirSync(d, { recursive: true });
  mkdirSync(join(low, 'etc'));
  writeFileSync(join(low, 'etc/hosts'), 'h1');
  writeFileSync(join(low, 'etc/gone'), 'gone');
  mkdirSync(join(low, 'opq'));
  writeFileSync(join(low, 'opq/old'), 'old');
  symlinkSync('etc/hosts', join(low, 'link'));
  mkdirSync(join(mid, 'etc'));
  writeFileSync(join(mid, 'etc/hosts'), 'h2');
  aufsWhiteout(mid, 'etc/gone');
  mkdirSync(join(top, 'opq'));
  writeFileSync(join(top, 'opq/.wh..wh..opq'), '');
  writeFileSync(join(top, 'opq/new'), 'new');
  writeFileSync(join(top, 'run.sh'), '#!/bin/sh');
  return [top, mid, low];
}

const Plain = suite('merged-tree helpers, no mount');

Plain('flattenedTree merges aufs branches with their whiteouts and opaque dirs', async () => {
  const t = tempHome('flatten');
  try {
    const stack = branches(t.root);
    await chmod(join(stack[0]!, 'run.sh'), 0o700);
    const o = `${process.getuid?.()}:${process.getgid?.()}`;
    assert.equal(await flattenedTree(stack, t.root), [
      `/etc dir 755 ${o}`,
      `/etc/hosts file 644 ${o} h2`,
      '/link symlink -> etc/hosts',
      `/opq dir 755 ${o}`,
      `/opq/new file 644 ${o} new`,
      `/run.sh file 700 ${o} #!/bin/sh`,
    ]);
    assert.equal(
      mountsBelow(t.root).map((m) => m.mountPoint),
      [],
    );
    assert.is(mountAt(join(t.root, 'br')), undefined, 'a plain dir is no mount');
    assert.is(mountAt(join(t.root, 'nowhere')), undefined);
  } finally {
    t.cleanup();
  }
});

Plain('readMergedTree leaves out the names aufs reserves, and only those', () => {
  const t = tempHome('reserved');
  try {
    mkdirSync(join(t.root, 'd'));
    writeFileSync(join(t.root, '.wh..wh.aufs'), '');
    writeFileSync(join(t.root, 'd/.wh.x'), '');
    writeFileSync(join(t.root, 'd/.whx'), 'kept');
    writeFileSync(join(t.root, 'd/x.wh.'), 'kept');
    assert.equal(
      readMergedTree(t.root).map((l) => l.split(' ')[0]),
      ['/d', '/d/.whx', '/d/x.wh.'],
    );
    assert.ok(reservedByAufs('.wh..wh.plnk') && !reservedByAufs('wh.x'));
  } finally {
    t.cleanup();
  }
});

const Real = suite('merged-tree helpers on a real overlayfs mount');

if (skip) {
  console.log(`merged-tree: skipped the overlayfs proof: ${skip}`);
  Real.skip('assertMergedTree, mountAt and mountsBelow see what the kernel mounted', () => {});
} else {
  Real('assertMergedTree, mountAt and mountsBelow see what the kernel mounted', async () => {
    const t = tempHome('overlay-proof');
    const target = join(t.root, 'merged');
    let mounted = false;
    try {
      const stack = branches(t.root);
      const lowers: string[] = [];
      for (const b of stack) {
        const dir = join(t.root, 'ovl', lowers.length.toString());
        mkdirSync(dir, { recursive: true });
        await apply(tarDiff({ upper: b, format: 'aufs' }), dir, { format: 'overlay' });
        lowers.push(dir);
      }
      mkdirSync(target);
      const kernel = probeOverlayFeatures();
      await runPlan(planOverlayMount({ target, lowers, pageSize: getPageSize(), kernel }));
      mounted = true;
      const m = mountAt(target);
      assert.is(m?.fstype, 'overlay');
      assert.ok(m!.options.includes('rw'));
      assert.equal(
        mountsBelow(t.root).map((x) => x.mountPoint),
        [target],
      );
      await assertMergedTree(target, stack, t.root);
      // and it fails when the kernel shows something else: the view without the top branch
      let failed = false;
      try {
        await assertMergedTree(target, stack.slice(1), t.root);
      } catch {
        failed = true;
      }
      assert.ok(failed, 'a different tree is caught');
      assert.ok(readMergedTree(target).includes(`/opq/new file 644 0:0 new`));
      umount2(target);
      mounted = false;
      assert.is(mountAt(target), undefined);
      assert.equal(mountsBelow(t.root), []);
    } finally {
      if (mounted) umount2(target);
      rmSync(t.root, { recursive: true, force: true });
    }
  });
}

Plain.run();
Real.run();
