// What a container sees through an aufs stack, as scenarios for any Harness: Docker's 126-layer scenario
// written through the mounts, and a stack with every kind of whiteout written into the branches the way aufs
// writes them. With the recorder, the view is the stack its mount calls carry, merged in user space with
// @ovl/tar's 'flatten' rules; on a real aufs kernel it is the tree read through the mount point.
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { aufsWhiteout, sha } from './fixtures.js';
import type { Scenario } from './harness.js';

// moby aufs_test.go testMountMoreThan42Layers: layer i adds a file named after itself, every 10th layer
// removes its parent's file; the top layer must show 126 − 12 = 114 files.
const docker126: Scenario = {
  name: 'the recorded mounts carry the stack; its merged view has exactly the expected files',
  branches: 126,
  async run(h, after) {
    // a home whose length puts the 4095-byte boundary inside a branch's `=ro+wh`
    const boundaryHome = (root: string) => {
      let zeroes = '0';
      while (4095 % (77 + join(root, zeroes, 'aufs').length) <= 77 + join(root, zeroes, 'aufs').length - 7)
        zeroes += '0';
      return join(root, zeroes, 'aufs');
    };
    const r = await h.start('126', { home: boundaryHome });
    try {
      const { driver, home } = r;
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
        r.write(point, rw, current, '');
        expected.add(current);
        if (i % 10 === 0) {
          r.delete(point, rw, parent!);
          expected.delete(parent!);
          assert.ok(existsSync(join(rw, `.wh.${parent}`)), 'the deletion is a whiteout in the rw branch');
        }
        await driver.put(current);
        ids.push(current);
      }
      await r.check({ mounts: [], msg: 'every layer put' });
      const last = ids[125]!;
      const point = await driver.get(last);
      const stack = [...ids].reverse().map((id) => join(home, 'diff', id));
      await r.check({
        calls: (k) =>
          assert.ok(k.filter((c) => c[0] === 'mount').length > 1, 'the stack needed append remounts'),
        mounts: [{ point, stack }],
        msg: 'the planned mounts carry every layer, top first',
      });
      const lines = await r.view(point, stack);
      assert.is(lines.length, 114);
      assert.equal(
        lines.map((l) => l.split(' ')[0]!.slice(1)),
        [...expected].sort(),
      );
      await driver.put(last);
      await r.check({ calls: [['umount2', point, 0]], mounts: [] });
      await after?.({ driver, ids, lines, root: r.root });
    } finally {
      await r.done();
    }
  },
};

const mixed: Scenario = {
  name: 'flattened aufs branches equal the real overlay mount of the same layers',
  async run(h, after) {
    const r = await h.start('mixed');
    try {
      const { driver, home } = r;
      const ids = [1, 2, 3, 4, 5].map((i) => sha(`mixed${i}`));
      for (const [i, id] of ids.entries()) await driver.create(id, ids[i - 1]);
      const d = ids.map((id) => join(home, 'diff', id));
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
      const stack = [...d].reverse();
      await r.check({ mounts: [{ point, stack }] });
      const lines = await r.view(point, stack);
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
      await r.check({ calls: [['umount2', point, 0]], mounts: [] });
      await after?.({ driver, ids, lines, root: r.root });
    } finally {
      await r.done();
    }
  },
};

export const stackScenarios: Scenario[] = [docker126, mixed];
