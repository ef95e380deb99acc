// The mount thread changes its own working directory and root only: while chroot and cwd steps run
// on it, relative paths used by the main thread and by libuv's pool still resolve from the caller's cwd.
import { mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MountPlan } from '@ovl/mountopts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { getPageSize, runPlan, umount2 } from '../src/index.js';
import { isRoot, tempDir } from './helpers.js';

const test = suite('cwd isolation');
test('relative reads during 20 chroot/cwd mounts on the mount thread see the caller cwd', async () => {
  if (!isRoot) return console.log('  skip: needs root');
  const t = tempDir();
  const home = join(t.dir, 'home');
  for (const d of ['a', 'b', 'u', 'w', 'm']) mkdirSync(join(home, d), { recursive: true });
  // a file named "marker" both in the caller's cwd and in the home, with different contents
  writeFileSync(join(t.dir, 'marker'), 'caller');
  writeFileSync(join(home, 'marker'), 'home');
  const before = process.cwd();
  process.chdir(t.dir);
  try {
    const reads: Promise<string>[] = [];
    for (let i = 0; i < 20; i++) {
      const chroot = i % 2 === 0;
      const plan: MountPlan = {
        strategy: 'link-relative',
        pageSize: getPageSize(),
        dataBytes: 0,
        steps: [
          {
            kind: 'mount',
            source: 'overlay',
            target: chroot ? '/m' : 'm',
            fstype: 'overlay',
            flags: 0,
            data: 'lowerdir=a:b,upperdir=u,workdir=w',
            cwd: home,
            chroot,
          },
        ],
      };
      const mounting = runPlan(plan, { isolation: 'thread' });
      for (let k = 0; k < 10; k++) reads.push(readFile('marker', 'utf8'));
      await mounting;
      assert.is(process.cwd(), t.dir);
      umount2(join(home, 'm'));
    }
    const got = await Promise.all(reads);
    assert.equal([...new Set(got)], ['caller']);
  } finally {
    process.chdir(before);
    t.remove();
  }
});
test.run();
