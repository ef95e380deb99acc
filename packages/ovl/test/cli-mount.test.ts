// As root on real overlayfs: `ovl mount` of the embedded image gives the expected root read-only; a
// --rw mount takes changes that `ovl commit --oci` turns into a layer and an image umoci and skopeo read.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMountpoint, MNT_DETACH, readMountinfo, umount2 } from '@ovl/syscall';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { embeddedImage, isRoot, ovl, removeDir, tempDir } from './helpers/cli.js';
import { assertEmbeddedRootfs } from './helpers/expected-tree.js';
import { snapshotTree } from './helpers/tree-snapshot.js';

const overlayHere =
  existsSync('/proc/filesystems') && readFileSync('/proc/filesystems', 'utf8').includes('overlay');
const have = (cmd: string) => spawnSync(cmd, ['--version']).status === 0;
const skip = !isRoot ? 'not root' : !overlayHere ? 'no overlay in /proc/filesystems' : undefined;

const Mount = suite('ovl mount / umount / commit on overlayfs');
const ctx = { home: '', work: '' };
const inStore = (args: string[]) => ovl([...args, '--store', ctx.home, '--driver', 'overlay']);

Mount.before(() => {
  ctx.work = tempDir('mount');
  ctx.home = join(ctx.work, 'store');
});
Mount.after(() => {
  // Whatever a failed test left mounted below the work dir goes, deepest first, before the dir does.
  const left = readMountinfo()
    .map((m) => m.mountPoint)
    .filter((p) => p.startsWith(`${ctx.work}/`))
    .sort()
    .reverse();
  for (const p of left) umount2(p, MNT_DETACH);
  removeDir(ctx.work);
});

if (skip) {
  console.log(`ovl mount tests skipped: ${skip}`);
} else {
  Mount('a read-only mount of the image shows the expected root and refuses writes', () => {
    const target = join(ctx.work, 'ro');
    const r = inStore(['mount', embeddedImage, target]);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /read-only mount of [0-9a-f]{64} at/);
    assert.ok(isMountpoint(target));
    const info = readMountinfo().find((m) => m.mountPoint === target);
    assert.ok(info?.options.includes('ro'), `bind is read-only: ${info?.options}`);
    assert.not.match(JSON.stringify(info), /upperdir=/, 'an image layer is mounted without an upper dir');
    assertEmbeddedRootfs(target);
    const write = spawnSync('sh', ['-c', `echo x > ${target}/etc/new`], { encoding: 'utf8' });
    assert.is.not(write.status, 0, 'writing into a read-only mount fails');
    assert.is(inStore(['umount', target]).code, 0);
    assert.not.ok(isMountpoint(target), 'umount leaves no mount behind');
    assert.equal(readdirSync(target), [], 'the target is an empty dir again');
  });

  Mount('umount of a path ovl did not mount exits 3', () => {
    const r = inStore(['umount', join(ctx.work, 'nothing-here')]);
    assert.is(r.code, 3);
    assert.match(r.stderr, /is not an ovl mount/);
  });

  Mount(
    'a target unmounted by hand: ovl umount drops the record, and the target can be mounted again',
    () => {
      const target = join(ctx.work, 'by-hand');
      assert.is(inStore(['mount', embeddedImage, target, '-q']).code, 0);
      umount2(target, 0); // what `umount DIR` (or a reboot) does behind ovl's back
      assert.not.ok(isMountpoint(target));
      const again = inStore(['mount', embeddedImage, target, '-q']);
      assert.is(again.code, 0, `a stale record does not block a new mount: ${again.stderr}`);
      assertEmbeddedRootfs(target);
      umount2(target, 0);
      const u = inStore(['umount', target]);
      assert.is(u.code, 0, u.stderr);
      assert.match(u.stdout, /unmounted/);
      assert.is(inStore(['umount', target]).code, 3, 'the record is gone');
      const left = readMountinfo().filter((m) => m.mountPoint.startsWith(`${ctx.home}/`));
      assert.equal(left, [], 'no driver mount stays behind');
    },
  );

  Mount('a layer ID mounts like its image', () => {
    const top = inStore(['unpack', embeddedImage]).stdout.trim();
    const target = join(ctx.work, 'by-id');
    assert.is(inStore(['mount', top, target]).code, 0);
    assertEmbeddedRootfs(target);
    assert.is(inStore(['umount', target]).code, 0);
  });

  Mount('--rw mount, change, commit --oci: a new layer and an image that umoci and skopeo read', () => {
    const target = join(ctx.work, 'rw');
    const r = inStore(['mount', '--rw', embeddedImage, target, '--json']);
    assert.is(r.code, 0, r.stderr);
    assert.is(JSON.parse(r.stdout).readWrite, true);
    writeFileSync(join(target, 'etc', 'added.txt'), 'added in the rw mount\n');
    unlinkSync(join(target, 'etc', 'hostname'));
    const seen = snapshotTree(target); // what the user saw in the mount is what the image must hold
    const oci = join(ctx.work, 'committed-oci');
    const c = inStore(['commit', target, '--oci', oci, '--ref', 'committed', '--json']);
    assert.is(c.code, 0, c.stderr);
    const result = JSON.parse(c.stdout);
    assert.match(result.layer, /^[0-9a-f]{64}$/);
    assert.match(result.diffId, /^sha256:[0-9a-f]{64}$/);
    assert.is(inStore(['umount', target]).code, 0);

    // The committed layer is in the store, on top of the image's top layer.
    const layers = JSON.parse(inStore(['ls', '--json']).stdout) as Array<{ id: string; parent?: string }>;
    const committed = layers.find((l) => l.id === result.layer);
    assert.ok(committed, 'the committed layer is listed');
    const changes = JSON.parse(inStore(['changes', result.layer, '--json']).stdout) as Array<{
      path: string;
      kind: string;
    }>;
    assert.equal(
      changes.map((c) => `${c.kind} ${c.path}`).sort(),
      ['add /etc/added.txt', 'delete /etc/hostname', 'modify /etc'].sort(),
    );

    if (!have('umoci') || !have('skopeo')) {
      console.log('umoci/skopeo check skipped: tools not installed');
      return;
    }
    const inspect = JSON.parse(
      execFileSync('skopeo', ['inspect', `oci:${oci}:committed`], { encoding: 'utf8' }),
    );
    assert.is(inspect.Layers.length, 4, 'skopeo sees the 3 image layers plus the committed one');
    const bundle = join(ctx.work, 'bundle');
    execFileSync('umoci', ['unpack', '--image', `${oci}:committed`, bundle], { stdio: 'pipe' });
    const rootfs = join(bundle, 'rootfs');
    assert.is(readFileSync(join(rootfs, 'etc', 'added.txt'), 'utf8'), 'added in the rw mount\n');
    assert.not.ok(existsSync(join(rootfs, 'etc', 'hostname')), 'the deletion is in the image');
    assert.equal(snapshotTree(rootfs), seen, 'umoci unpacks exactly the tree the rw mount showed');
    // skopeo reads every blob (digests and sizes verified) when it copies the image elsewhere
    const copy = join(ctx.work, 'skopeo-copy');
    execFileSync('skopeo', ['copy', '-q', `oci:${oci}:committed`, `oci:${copy}:again`], { stdio: 'pipe' });
    const again = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${copy}:again`], { encoding: 'utf8' }));
    assert.equal(again.Layers, inspect.Layers, 'the copy has the same layer digests');
  });

  Mount(
    '--rw mount of a layer ID: commit --oci builds the whole image from the store; other images in the layout stay',
    () => {
      if (!have('umoci') || !have('skopeo')) return console.log('skipped: umoci/skopeo not installed');
      const top = inStore(['unpack', embeddedImage, '-q']).stdout.trim();
      const target = join(ctx.work, 'rw-by-id');
      const r = inStore(['mount', '--rw', top, target, '-q']);
      assert.is(r.code, 0, r.stderr);
      writeFileSync(join(target, 'srv', 'www', 'index.html'), 'changed by id\n');
      unlinkSync(join(target, 'usr', 'bin', 'hi'));
      const seen = snapshotTree(target);
      // a layout that already holds an image under another ref
      const oci = join(ctx.work, 'by-id-oci');
      execFileSync('skopeo', ['copy', '-q', `oci:${embeddedImage}:latest-amd64`, `oci:${oci}:original`], {
        stdio: 'pipe',
      });
      const c = inStore(['commit', target, '--oci', oci, '--ref', 'by-id', '--json']);
      assert.is(c.code, 0, c.stderr);
      assert.is(inStore(['umount', target]).code, 0);
      const inspect = JSON.parse(
        execFileSync('skopeo', ['inspect', `oci:${oci}:by-id`], { encoding: 'utf8' }),
      );
      assert.is(inspect.Layers.length, 4, 'the three store layers plus the committed one');
      const bundle = join(ctx.work, 'by-id-bundle');
      execFileSync('umoci', ['unpack', '--image', `${oci}:by-id`, bundle], { stdio: 'pipe' });
      assert.equal(snapshotTree(join(bundle, 'rootfs')), seen, 'the image holds what the mount showed');
      const original = join(ctx.work, 'original-bundle');
      execFileSync('umoci', ['unpack', '--image', `${oci}:original`, original], { stdio: 'pipe' });
      assertEmbeddedRootfs(join(original, 'rootfs'));
    },
  );

  Mount('commit --oci builds on the platform the mount picked with --platform', () => {
    if (!have('skopeo')) return console.log('skipped: skopeo not installed');
    const target = join(ctx.work, 'rw-arm64');
    const r = inStore(['mount', '--rw', '--platform', 'linux/arm64', embeddedImage, target, '-q']);
    assert.is(r.code, 0, r.stderr);
    writeFileSync(join(target, 'arm'), 'arm64\n');
    const oci = join(ctx.work, 'arm64-oci');
    assert.is(inStore(['commit', target, '--oci', oci, '--ref', 'arm']).code, 0);
    assert.is(inStore(['umount', target]).code, 0);
    const inspect = JSON.parse(
      execFileSync('skopeo', ['inspect', '--override-arch', 'arm64', `oci:${oci}:arm`], { encoding: 'utf8' }),
    );
    assert.is(inspect.Architecture, 'arm64');
    const index = JSON.parse(readFileSync(join(oci, 'index.json'), 'utf8'));
    assert.equal(index.manifests[0].platform, { architecture: 'arm64', os: 'linux', variant: 'v8' });
  });

  Mount('mounting as an unprivileged user exits 4 with a hint to run as root', () => {
    if (!have('setpriv')) return console.log('skipped: setpriv not installed');
    const home = join(ctx.work, 'nobody-store');
    execFileSync('mkdir', ['-p', home]);
    execFileSync('chown', ['65534:65534', home, ctx.work]);
    const r = spawnSync(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        process.execPath,
        join(import.meta.dirname, '..', 'dist', 'cli.js'),
        'mount',
        embeddedImage,
        join(home, 'm'),
        '--store',
        home,
        '--driver',
        'vfs',
      ],
      { encoding: 'utf8' },
    );
    assert.is(r.status, 4, r.stderr);
    assert.match(r.stderr, /run with sudo/);
  });
}

Mount.run();
