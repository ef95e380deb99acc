/**
 * Interop with real tools: a tree archived by GNU tar and by bsdtar applies to the same tree those
 * tools extract; an image built by buildah (several layers, deletions, a dir replaced wholesale) applied
 * layer by layer in 'flatten' equals what `umoci unpack` makes of it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  createReadStream,
  linkSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { apply } from '../src/index.js';
import { describeTree, diffTrees, removeDir, tempDir } from './fixtures/tree.js';

const isRoot = process.getuid?.() === 0;
const has = (cmd: string, args = ['--version']) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const sh = (cmd: string, args: string[], opts: { cwd?: string } = {}) =>
  execFileSync(cmd, args, { ...opts, maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'] });

/** A tree with every kind of entry and header feature a layer can carry. */
function makeSourceTree(src: string) {
  mkdirSync(join(src, 'etc/conf.d'), { recursive: true });
  mkdirSync(join(src, 'usr/bin'), { recursive: true });
  mkdirSync(join(src, 'tmp'));
  mkdirSync(join(src, 'empty'));
  writeFileSync(join(src, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(src, 'etc/conf.d/a.conf'), 'a=1\n'.repeat(5000));
  writeFileSync(join(src, 'usr/bin/tool'), Buffer.alloc(70_000, 0x7f));
  writeFileSync(join(src, 'usr/bin/suid'), 'suid');
  linkSync(join(src, 'usr/bin/tool'), join(src, 'usr/bin/tool-alias'));
  linkSync(join(src, 'usr/bin/tool'), join(src, 'etc/tool-hl'));
  symlinkSync('/usr/bin/tool', join(src, 'abs-link'));
  symlinkSync('../usr/bin', join(src, 'etc/rel-link'));
  symlinkSync('dangling/target', join(src, 'dangling'));
  const long = join(src, 'd'.repeat(90), 'e'.repeat(90), 'f'.repeat(120));
  mkdirSync(long, { recursive: true });
  writeFileSync(join(long, 'g'.repeat(200)), 'long');
  sh('chmod', ['4755', join(src, 'usr/bin/suid')]);
  sh('chmod', ['1777', join(src, 'tmp')]);
  sh('chmod', ['2750', join(src, 'etc/conf.d')]);
  sh('mkfifo', ['-m', '640', join(src, 'fifo')]);
  sh('setfattr', ['-n', 'user.origin', '-v', 'interop', join(src, 'etc/passwd')]);
  if (isRoot) {
    sh('mknod', ['-m', '666', join(src, 'null'), 'c', '1', '3']);
    sh('chown', ['1234:5678', join(src, 'etc/passwd')]);
    sh('chown', ['-h', '42:43', join(src, 'abs-link')]);
    sh('chown', ['7:8', join(src, 'etc/conf.d')]);
    try {
      // A binary xattr; setcap is in libcap2-bin, the test does without it.
      sh('setcap', ['cap_net_raw+ep', join(src, 'usr/bin/suid')]);
      sh('chmod', ['4755', join(src, 'usr/bin/suid')]);
    } catch {}
  }
  // Nanosecond mtimes (apply sets them exactly, as the tools do), dirs last so children do not bump them.
  let n = 0;
  const stamp = (p: string) =>
    sh('touch', ['-h', '-d', `2020-01-02 03:04:${String(5 + (n++ % 50)).padStart(2, '0')}.123456789`, p]);
  const all = sh('find', [src, '-depth']).toString().trim().split('\n');
  for (const p of all) stamp(p);
}

const describe = (root: string) => describeTree(root, { mtimes: true });

const Tools = suite('apply: the same tree as GNU tar and bsdtar extract');
let work = '';
Tools.before.each(() => {
  work = tempDir('interop');
});
Tools.after.each(() => removeDir(work));

const tools: Array<{ name: string; create: string[]; extract: string[]; bin: string }> = [
  {
    name: 'GNU tar',
    bin: 'tar',
    create: ['--format=posix', '--xattrs', '--xattrs-include=*', '-cf'],
    extract: ['--xattrs', '--xattrs-include=*', '--same-owner', '--numeric-owner', '-xpf'],
  },
  {
    name: 'bsdtar',
    bin: 'bsdtar',
    create: ['--xattrs', '-cf'],
    extract: ['--xattrs', '--numeric-owner', '-xpf'],
  },
];

for (const tool of tools) {
  Tools(
    `${tool.name}: paths, types, modes, owners, content, links, xattrs, hardlink groups, mtimes`,
    async () => {
      if (!has(tool.bin)) return console.log(`  skipped: ${tool.bin} is not installed`);
      const src = join(work, 'src');
      mkdirSync(src);
      makeSourceTree(src);
      const tarPath = join(work, 'layer.tar');
      sh(tool.bin, [...tool.create, tarPath, '-C', src, '.']);
      const theirs = join(work, 'theirs');
      const ours = join(work, 'ours');
      mkdirSync(theirs);
      mkdirSync(ours);
      sh(tool.bin, [...tool.extract, tarPath, '-C', theirs]);
      const r = await apply(createReadStream(tarPath), ours);
      assert.equal(r.warnings, []);
      const want = describe(theirs);
      const got = describe(ours);
      if (tool.bin === 'bsdtar') {
        // bsdtar leaves the time of '.' (the extraction dir) alone; GNU tar and Docker set it, as we do.
        delete want['.']!.mtime;
        delete got['.']!.mtime;
      }
      assert.equal(diffTrees(got, want), []);
      // The comparison is only as good as what it saw: make sure the tool kept the interesting parts.
      assert.ok(want['usr/bin/tool-alias']?.group, 'hardlinks grouped');
      assert.ok(want['etc/passwd']?.xattrs?.['user.origin'], 'xattrs kept');
      assert.is(want.tmp?.mode, '1777');
    },
  );
}

Tools.run();

const Buildah = suite("apply 'flatten': a buildah image layer by layer equals umoci unpack");
let bwork = '';
Buildah.before.each(() => {
  bwork = tempDir('buildah');
});
Buildah.after.each(() => {
  const B = buildahArgs(bwork);
  spawnSync('buildah', [...B, 'rm', '-a'], { stdio: 'ignore' });
  spawnSync('buildah', [...B, 'rmi', '-a', '-f'], { stdio: 'ignore' });
  removeDir(bwork);
});

function buildahArgs(root: string) {
  return ['--root', join(root, 'storage'), '--runroot', join(root, 'run'), '--storage-driver', 'vfs'];
}

Buildah('deleted files, deleted dirs, a dir replaced wholesale, an opaque dir', async () => {
  if (!isRoot) return console.log('  skipped: buildah from scratch needs root here');
  if (!has('buildah') || !has('umoci', ['--version']))
    return console.log('  skipped: buildah or umoci missing');
  const B = buildahArgs(bwork);
  const buildah = (...args: string[]) =>
    sh('buildah', [...B, ...args])
      .toString()
      .trim();
  let ctr: string;
  try {
    ctr = buildah('from', 'scratch');
  } catch (err) {
    return console.log(`  skipped: buildah cannot run here (${(err as Error).message.split('\n')[0]})`);
  }
  const steps: Array<(root: string) => void> = [
    (root) => {
      makeSourceTree(root);
      mkdirSync(join(root, 'var/lib/replaced/sub'), { recursive: true });
      writeFileSync(join(root, 'var/lib/replaced/old'), 'old');
      writeFileSync(join(root, 'var/lib/replaced/sub/old2'), 'old2');
      mkdirSync(join(root, 'var/cache/gone/deep'), { recursive: true });
      writeFileSync(join(root, 'var/cache/gone/deep/x'), 'x');
    },
    (root) => {
      rmSync(join(root, 'etc/passwd'));
      rmSync(join(root, 'var/cache/gone'), { recursive: true });
      rmSync(join(root, 'var/lib/replaced'), { recursive: true });
      mkdirSync(join(root, 'var/lib/replaced'));
      writeFileSync(join(root, 'var/lib/replaced/new'), 'new');
      writeFileSync(join(root, 'etc/conf.d/a.conf'), 'changed\n');
      linkSync(join(root, 'usr/bin/tool'), join(root, 'usr/bin/tool-3'));
    },
    (root) => {
      rmSync(join(root, 'usr/bin/tool-alias'));
      writeFileSync(join(root, 'etc/passwd'), 'back again\n');
      rmSync(join(root, 'etc/rel-link'));
      mkdirSync(join(root, 'etc/rel-link'));
    },
  ];
  for (const [i, step] of steps.entries()) {
    if (i > 0) ctr = buildah('from', `img${i - 1}`);
    const mnt = buildah('mount', ctr);
    step(mnt);
    buildah('commit', '-q', ctr, `img${i}`);
  }
  const layout = join(bwork, 'oci');
  buildah('push', '-q', `img${steps.length - 1}`, `oci:${layout}:latest`);
  const bundle = join(bwork, 'bundle');
  sh('umoci', ['unpack', '--image', `${layout}:latest`, bundle]);

  const ours = join(bwork, 'ours');
  mkdirSync(ours);
  const blob = (digest: string) => join(layout, 'blobs', ...digest.split(':'));
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  const manifest = JSON.parse(readFileSync(blob(index.manifests[0].digest), 'utf8'));
  assert.is(manifest.layers.length, steps.length);
  for (const layer of manifest.layers)
    await apply(createReadStream(blob(layer.digest)), ours, { format: 'flatten' });

  // umoci resets the times of dirs it removed entries from; compare those without mtimes.
  const strip = (t: ReturnType<typeof describe>) => {
    for (const v of Object.values(t)) if (v.type === 'dir') delete v.mtime;
    return t;
  };
  const want = strip(describe(join(bundle, 'rootfs')));
  assert.equal(diffTrees(strip(describe(ours)), want), []);
  assert.not.ok(want['var/cache/gone'], 'the deleted dir is gone');
  assert.equal(
    Object.keys(want).filter((p) => p.startsWith('var/lib/replaced/')),
    ['var/lib/replaced/new'],
  );
});

Buildah.run();
