// End to end on a real overlay mount: changes made through the merged dir, the upper dir diffed, and the
// layers applied by umoci (whiteouts and all) and GNU tar give back the trees overlayfs showed.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  linkSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { lsetxattr, MS_RDONLY, makedev, mknod, mount, S_IFIFO, umount2 } from '@ovl/syscall';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { changes, diff } from '../src/index.js';
import {
  build,
  collect,
  describeTree,
  isRoot,
  readTar,
  rmTree,
  run,
  summary,
  tempDir,
} from './diff-helpers.js';

const hasOverlay = () => readFileSync('/proc/filesystems', 'utf8').includes('\toverlay\n');
const hasUmoci = () => {
  try {
    execFileSync('umoci', ['--version']);
    return true;
  } catch {
    return false;
  }
};
const skipReason = () =>
  !isRoot ? 'needs root (mount)' : !hasOverlay() ? 'no overlayfs in this kernel' : undefined;

const e2e = suite('diff: real overlay upper dir');
let base = '';
const dirs = { lower: '', upper: '', work: '', merged: '' };
const mounted: string[] = [];

function overlayMount(target: string, data: string, flags = 0): void {
  mount('overlay', target, 'overlay', flags, data);
  mounted.push(target);
}
function unmount(target: string): void {
  umount2(target);
  mounted.splice(mounted.indexOf(target), 1);
}

e2e.before(() => {
  if (skipReason()) return;
  base = tempDir('ovl-e2e');
  for (const k of Object.keys(dirs) as Array<keyof typeof dirs>) {
    dirs[k] = join(base, k);
    mkdirSync(dirs[k]);
  }
  const L = dirs.lower;
  build(L, {
    'etc/conf': 'v1',
    'etc/keep': 'keep',
    'usr/bin/tool': '#!/bin/sh\n',
    'var/cache/a': 'a',
    'var/cache/b': 'b',
    'var/log/x': 'x',
    'opt/old/f1': '1',
    'opt/old/f2': '2',
    'home/u/file': 'u',
  });
  chmodSync(join(L, 'usr/bin/tool'), 0o755);
  utimesSync(join(L, 'etc/keep'), 1_500_000_000, 1_500_000_000);

  overlayMount(
    dirs.merged,
    `lowerdir=${L},upperdir=${dirs.upper},workdir=${dirs.work},redirect_dir=off,index=off,metacopy=off`,
  );
  try {
    const M = dirs.merged;
    writeFileSync(join(M, 'etc/conf'), 'v2, longer');
    rmSync(join(M, 'usr/bin/tool'));
    rmSync(join(M, 'var/cache'), { recursive: true });
    rmSync(join(M, 'opt/old'), { recursive: true });
    mkdirSync(join(M, 'opt/old'));
    writeFileSync(join(M, 'opt/old/new'), 'n');
    mkdirSync(join(M, 'new/dir'), { recursive: true });
    writeFileSync(join(M, 'new/dir/f'), 'f');
    chmodSync(join(M, 'new/dir'), 0o700);
    chmodSync(join(M, 'home/u/file'), 0o600);
    writeFileSync(join(M, 'new/h1'), 'hard');
    linkSync(join(M, 'new/h1'), join(M, 'new/h2'));
    lsetxattr(join(M, 'etc/keep'), 'user.x', 'y');
    symlinkSync('/etc/conf', join(M, 'new/sym'));
    mknod(join(M, 'new/fifo'), S_IFIFO | 0o644, makedev(0, 0));
  } finally {
    unmount(dirs.merged);
  }
});

e2e.after(() => {
  for (const m of [...mounted].reverse()) {
    try {
      umount2(m);
    } catch {}
  }
  rmTree(base);
});

e2e('the upper dir becomes the layer Docker would write', async () => {
  const why = skipReason();
  if (why) return console.log(`skip: ${why}`);
  const records = await readTar(await collect(diff({ upper: dirs.upper, lowers: [dirs.lower] })));
  assert.equal(
    summary(records).map((l) => l.replace(/ 0:0 /, ' ')),
    [
      'etc/ directory 755 0',
      'etc/conf file 644 10',
      'etc/keep file 644 4',
      'home/ directory 755 0',
      'home/u/ directory 755 0',
      'home/u/file file 600 1',
      'new/ directory 755 0',
      'new/dir/ directory 700 0',
      'new/dir/f file 644 1',
      'new/fifo fifo 644 0',
      'new/h1 file 644 4',
      'new/h2 link 644 0 -> new/h1',
      'new/sym symlink 777 0 -> /etc/conf',
      'opt/ directory 755 0',
      'opt/old/ directory 755 0',
      'opt/old/.wh..wh..opq file 755 0',
      'opt/old/new file 644 1',
      'usr/ directory 755 0',
      'usr/bin/ directory 755 0',
      'usr/bin/.wh.tool file 0 0',
      'var/ directory 755 0',
      'var/.wh.cache file 0 0',
    ],
  );
  const keep = records.find((r) => r.name === 'etc/keep');
  assert.is(keep?.pax?.['SCHILY.xattr.user.x'], 'y');
  for (const r of records)
    assert.equal(
      Object.keys(r.pax ?? {}).filter((k) => k.includes('overlay')),
      [],
      `${r.name}: no overlay xattrs`,
    );
});

e2e('changes over the same upper dir', async () => {
  const why = skipReason();
  if (why) return console.log(`skip: ${why}`);
  const list = (await changes([dirs.lower], dirs.upper)).map((c) => `${c.kind[0]!.toUpperCase()} ${c.path}`);
  // /etc was copied up to hold etc/conf and etc/keep: same mode, owner and mtime as below, so not listed.
  assert.equal(list, [
    'M /etc/conf',
    'M /etc/keep',
    'M /home/u/file',
    'A /new',
    'A /new/dir',
    'A /new/dir/f',
    'A /new/fifo',
    'A /new/h1',
    'A /new/h2',
    'A /new/sym',
    'M /opt',
    'M /opt/old',
    'D /opt/old/f1',
    'D /opt/old/f2',
    'A /opt/old/new',
    'M /usr/bin',
    'D /usr/bin/tool',
    'M /var',
    'D /var/cache',
  ]);
});

e2e(
  'umoci unpacks the two layers to the tree overlayfs merges; GNU tar extracts the base layer',
  async () => {
    const why = skipReason() ?? (hasUmoci() ? undefined : 'umoci not installed');
    if (why) return console.log(`skip: ${why}`);
    const work = join(base, 'oci');
    mkdirSync(work);
    writeFileSync(join(work, 'base.tar'), await collect(diff({ lowers: [], tree: dirs.lower })));
    writeFileSync(join(work, 'top.tar'), await collect(diff({ upper: dirs.upper, lowers: [dirs.lower] })));
    run('umoci', ['init', '--layout', join(work, 'img')]);
    run('umoci', ['new', '--image', `${join(work, 'img')}:t`]);
    run('umoci', ['raw', 'add-layer', '--image', `${join(work, 'img')}:t`, join(work, 'base.tar')]);
    run('umoci', ['raw', 'add-layer', '--image', `${join(work, 'img')}:t`, join(work, 'top.tar')]);
    run('umoci', ['unpack', '--image', `${join(work, 'img')}:t`, join(work, 'bundle')]);

    // What overlayfs shows for upper-over-lower, mounted read-only from the same dirs.
    const view = join(base, 'view');
    mkdirSync(view);
    overlayMount(view, `lowerdir=${dirs.upper}:${dirs.lower}`, MS_RDONLY);
    try {
      const expected = describeTree(view, { mtimes: true });
      assert.equal(describeTree(join(work, 'bundle/rootfs'), { mtimes: true }), expected);
    } finally {
      unmount(view);
    }

    const gnu = join(work, 'gnu');
    mkdirSync(gnu);
    run('tar', [
      '--xattrs',
      '--xattrs-include=*',
      '--numeric-owner',
      '-xpf',
      join(work, 'base.tar'),
      '-C',
      gnu,
    ]);
    assert.equal(describeTree(gnu, { mtimes: true }), describeTree(dirs.lower, { mtimes: true }));
  },
);

e2e(
  'the naive diff of the merged mount, applied by umoci over the base layer, gives the merged tree',
  async () => {
    const why = skipReason() ?? (hasUmoci() ? undefined : 'umoci not installed');
    if (why) return console.log(`skip: ${why}`);
    const work = join(base, 'oci-naive');
    mkdirSync(work);
    const view = join(base, 'view-naive');
    mkdirSync(view);
    overlayMount(view, `lowerdir=${dirs.upper}:${dirs.lower}`, MS_RDONLY);
    try {
      writeFileSync(join(work, 'base.tar'), await collect(diff({ lowers: [], tree: dirs.lower })));
      const top = await collect(diff({ lowers: [dirs.lower], tree: view }));
      writeFileSync(join(work, 'top.tar'), top);
      const names = (await readTar(top)).map((r) => r.name);
      assert.ok(names.includes('opt/old/.wh..wh..opq'), 'opt/old lost all its lower children: opaque');
      assert.ok(names.includes('var/.wh.cache') && names.includes('usr/bin/.wh.tool'));
      assert.not.ok(names.includes('var/log/'), 'untouched dirs stay out');
      const img = `${join(work, 'img')}:t`;
      run('umoci', ['init', '--layout', join(work, 'img')]);
      run('umoci', ['new', '--image', img]);
      run('umoci', ['raw', 'add-layer', '--image', img, join(work, 'base.tar')]);
      run('umoci', ['raw', 'add-layer', '--image', img, join(work, 'top.tar')]);
      run('umoci', ['unpack', '--image', img, join(work, 'bundle')]);
      assert.equal(
        describeTree(join(work, 'bundle/rootfs'), { mtimes: true }),
        describeTree(view, { mtimes: true }),
      );
    } finally {
      unmount(view);
    }
  },
);

e2e.run();
