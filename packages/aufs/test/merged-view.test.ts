// What a container would see through an aufs stack, without an aufs kernel: the stack the recorded mount
// calls carry, replayed through the aufs model, then merged in user space by applying each branch's diff
// bottom up with @ovl/tar's 'flatten' rules. As root, the same layers converted to overlay format
// (@ovl/tar 'overlay') and mounted for real with @ovl/mountopts + @ovl/syscall must show the same tree.
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { planOverlayMount } from '@ovl/mountopts';
import { getPageSize, probeOverlayFeatures, runPlan, umount2 } from '@ovl/syscall';
import { apply } from '@ovl/tar';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { AufsDriver } from '../src/index.js';
import { AufsKernelModel } from './aufs-grammar.js';
import { recordedDriver, sha, tempHome } from './fixtures.js';
import { treeLines } from './tree.js';

const canMountOverlay =
  process.getuid?.() === 0 && readFileSync('/proc/filesystems', 'utf8').includes('\toverlay');
if (!canMountOverlay)
  console.log('merged-view: not root or no overlayfs: the real overlay comparison is skipped');

/** The branch stack (top first) the driver's recorded mount calls built at `target`. */
function recordedStack(calls: Array<{ name: string; args: unknown[] }>, target: string): string[] {
  const k = new AufsKernelModel();
  for (const c of calls) {
    if (c.name !== 'mount') continue;
    const [source, t, fstype, flags, data] = c.args as [string, string, string, number, string];
    k.mount({ source, target: t, fstype, flags, data });
  }
  return k.stack(target);
}

/** Applies each branch's layer tar, bottom first, onto one tree with the 'flatten' whiteout rules. */
async function flattenStack(driver: AufsDriver, stack: string[], into: string): Promise<void> {
  mkdirSync(into, { recursive: true });
  for (const branch of [...stack].reverse())
    await apply(driver.diff(basename(branch)), into, { format: 'flatten' });
}

/** The same layers in overlay format, mounted read-only as lowers; returns the tree seen through it. */
async function overlayView(driver: AufsDriver, idsBottomFirst: string[], root: string): Promise<string[]> {
  const lowers: string[] = [];
  for (const id of idsBottomFirst) {
    const dir = join(root, 'ovl', id.slice(0, 12));
    mkdirSync(dir, { recursive: true });
    await apply(driver.diff(id), dir, { format: 'overlay' });
    lowers.unshift(dir);
  }
  const target = join(root, 'ovl-merged');
  mkdirSync(target);
  const plan = planOverlayMount({ target, lowers, pageSize: getPageSize(), kernel: probeOverlayFeatures() });
  await runPlan(plan);
  try {
    return treeLines(target);
  } finally {
    umount2(target);
  }
}

/** Writes into a layer's diff dir what aufs writes into its rw branch for a deletion: `.wh.<name>`,
 * hard-linked to the branch's `.wh..wh.aufs` base whiteout. */
function aufsWhiteout(diff: string, rel: string): void {
  const base = join(diff, '.wh..wh.aufs');
  try {
    writeFileSync(base, '', { flag: 'wx' });
  } catch {}
  const parts = rel.split('/');
  const name = parts.pop()!;
  linkSync(base, join(diff, ...parts, `.wh.${name}`));
}

const Docker = suite("Docker's 126-layer stack");

// moby aufs_test.go testMountMoreThan42Layers: layer i adds a file named after itself, every 10th layer
// removes its parent's file; the top layer must show 126 − 12 = 114 files.
Docker('the recorded mounts carry the stack; its merged view has exactly the expected files', async () => {
  // a home whose length puts the 4095-byte boundary inside a branch's `=ro+wh`
  let zeroes = '0';
  const base = mkdtempSync(join(tmpdir(), 'ovl-aufs-126-'));
  while (4095 % (77 + join(base, zeroes, 'aufs').length) <= 77 + join(base, zeroes, 'aufs').length - 7)
    zeroes += '0';
  const home = join(base, zeroes, 'aufs');
  try {
    const { driver, calls } = await recordedDriver(home);
    const expected = new Set<string>();
    const ids: string[] = [];
    for (let i = 1; i <= 126; i++) {
      const parent = ids[ids.length - 1];
      const current = sha(String(i));
      await driver.create(current, parent);
      const point = await driver.get(current);
      assert.is(point, join(home, i === 1 ? 'diff' : 'mnt', current));
      // writes through the mount land in the rw branch: the layer's diff dir
      const rw = join(home, 'diff', current);
      writeFileSync(join(rw, current), '');
      expected.add(current);
      if (i % 10 === 0) {
        aufsWhiteout(rw, parent!);
        expected.delete(parent!);
      }
      await driver.put(current);
      ids.push(current);
    }
    const last = ids[125]!;
    calls.length = 0;
    const point = await driver.get(last);
    const stack = recordedStack(calls, point);
    assert.equal(
      stack,
      [...ids].reverse().map((id) => join(home, 'diff', id)),
      'the planned mounts carry every layer, top first',
    );
    assert.ok(calls.filter((c) => c.name === 'mount').length > 1, 'the stack needed append remounts');
    const merged = join(base, 'merged');
    await flattenStack(driver, stack, merged);
    const lines = treeLines(merged);
    assert.is(lines.length, 114);
    assert.equal(
      lines.map((l) => l.split(' ')[0]!.slice(1)),
      [...expected].sort(),
    );
    await driver.put(last);
    if (canMountOverlay) assert.equal(await overlayView(driver, ids, base), lines, 'overlayfs agrees');
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

const Mixed = suite('a stack with every kind of whiteout');

Mixed('flattened aufs branches equal the real overlay mount of the same layers', async () => {
  const t = tempHome('mixed');
  try {
    const { driver, calls } = await recordedDriver(t.home);
    const ids = [1, 2, 3, 4, 5].map((i) => sha(`mixed${i}`));
    for (const [i, id] of ids.entries()) await driver.create(id, ids[i - 1]);
    const d = ids.map((id) => join(t.home, 'diff', id));
    const [l1, l2, l3, l4, l5] = d as [string, string, string, string, string];
    const w = (p: string, text: string) => writeFileSync(p, text);
    mkdirSync(join(l1, 'etc'));
    w(join(l1, 'etc/passwd'), 'root');
    w(join(l1, 'etc/hosts'), 'h1');
    mkdirSync(join(l1, 'bin'));
    w(join(l1, 'bin/sh'), 'sh');
    await chmod(join(l1, 'bin/sh'), 0o755);
    mkdirSync(join(l1, 'lib/sub'), { recursive: true });
    w(join(l1, 'lib/a'), 'a');
    w(join(l1, 'lib/sub/b'), 'b');
    symlinkSync('etc/passwd', join(l1, 'link'));
    mkdirSync(join(l1, 'tmp'));
    await chmod(join(l1, 'tmp'), 0o1777);
    // 2: modify, delete a symlink, delete a directory, add a directory
    mkdirSync(join(l2, 'etc'));
    w(join(l2, 'etc/hosts'), 'h2');
    aufsWhiteout(l2, 'link');
    mkdirSync(join(l2, 'lib'));
    aufsWhiteout(l2, 'lib/sub');
    mkdirSync(join(l2, 'new'));
    w(join(l2, 'new/f'), 'f');
    // 3: an opaque directory, a deleted file next to a new one
    mkdirSync(join(l3, 'lib'));
    w(join(l3, 'lib/.wh..wh..opq'), '');
    w(join(l3, 'lib/c'), 'c');
    mkdirSync(join(l3, 'etc'));
    aufsWhiteout(l3, 'etc/passwd');
    w(join(l3, 'etc/passwd2'), 'root2');
    // 4: delete a directory of a lower layer, a new symlink, a file's mode changed
    aufsWhiteout(l4, 'new');
    symlinkSync('bin/sh', join(l4, 'new2'));
    mkdirSync(join(l4, 'bin'));
    w(join(l4, 'bin/sh'), 'sh2');
    await chmod(join(l4, 'bin/sh'), 0o700);
    // 5: aufs re-creates a deleted directory as opaque; a whiteout of an opaque dir's own file
    mkdirSync(join(l5, 'new'));
    w(join(l5, 'new/.wh..wh..opq'), '');
    w(join(l5, 'new/g'), 'g');
    mkdirSync(join(l5, 'lib'));
    aufsWhiteout(l5, 'lib/c');
    mkdirSync(join(l5, 'etc'));
    w(join(l5, 'etc/hosts'), 'h5');
    // aufs's own metadata in a branch must not leak into the view
    mkdirSync(join(l5, '.wh..wh.plnk'));
    w(join(l5, '.wh..wh.plnk/99.1'), 'x');

    const top = ids[4]!;
    const point = await driver.get(top);
    const stack = recordedStack(calls, point);
    assert.equal(stack, [...d].reverse());
    const merged = join(t.root, 'merged');
    await flattenStack(driver, stack, merged);
    const lines = treeLines(merged);
    const o = `${process.getuid?.()}:${process.getgid?.()}`;
    assert.equal(lines, [
      `/bin dir 755 ${o}`,
      `/bin/sh file 700 ${o} sh2`,
      `/etc dir 755 ${o}`,
      `/etc/hosts file 644 ${o} h5`,
      `/etc/passwd2 file 644 ${o} root2`,
      `/lib dir 755 ${o}`,
      `/new dir 755 ${o}`,
      `/new/g file 644 ${o} g`,
      '/new2 symlink -> bin/sh',
      `/tmp dir 1777 ${o}`,
    ]);
    await driver.put(top);
    if (canMountOverlay) assert.equal(await overlayView(driver, ids, t.root), lines, 'overlayfs agrees');
  } finally {
    t.cleanup();
  }
});

Docker.run();
Mixed.run();
