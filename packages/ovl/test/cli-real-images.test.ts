// An image built by buildah (from scratch, three layers: deleted file, deleted dir, a dir replaced
// wholesale, hardlinks, symlinks, xattrs, setuid, odd owners), exported by skopeo as an OCI layout and as
// a docker archive: `ovl flatten` of each, and the overlay mount of `ovl mount`, equal umoci's unpack of
// the same image, file by file.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, linkSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MNT_DETACH, readMountinfo, umount2 } from '@ovl/syscall';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isRoot, ovl, removeDir, tempDir } from './helpers/cli.js';
import { snapshotTree } from './helpers/tree-snapshot.js';

const have = (cmd: string) => spawnSync(cmd, ['--version']).status === 0;
const missing = ['buildah', 'skopeo', 'umoci', 'setfattr', 'getfattr'].find((t) => !have(t));
const skip = !isRoot
  ? 'not root (buildah from scratch needs root here)'
  : missing
    ? `${missing} not installed`
    : undefined;
const run = (cmd: string, args: string[]) =>
  execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

const ctx = { work: '', oci: '', archive: '', umoci: '' };

function buildImage(dir: string): void {
  const b = ['--storage-driver', 'vfs', '--root', join(dir, 'root'), '--runroot', join(dir, 'runroot')];
  const buildah = (...args: string[]) => run('buildah', [...b, ...args]);
  const layer = (from: string, edit: (root: string) => void, tag: string) => {
    const c = buildah('from', from);
    edit(buildah('mount', c));
    buildah('commit', '-q', c, tag);
    buildah('rm', c);
  };
  layer(
    'scratch',
    (r) => {
      for (const d of ['etc', 'bin', 'var/lib/app/data', 'opt/tool/share', 'home/u'])
        mkdirSync(join(r, d), { recursive: true });
      writeFileSync(join(r, 'etc/hostname'), 'base\n');
      writeFileSync(join(r, 'etc/gone'), 'deleted later\n');
      writeFileSync(join(r, 'bin/tool'), '#!/bin/sh\necho tool\n');
      chmodSync(join(r, 'bin/tool'), 0o4755);
      linkSync(join(r, 'bin/tool'), join(r, 'bin/tool-link'));
      symlinkSync('/etc/hostname', join(r, 'etc/name'));
      writeFileSync(join(r, 'var/lib/app/data/a'), 'a'.repeat(10_000));
      writeFileSync(join(r, 'opt/tool/share/doc'), 'doc\n');
      writeFileSync(join(r, 'home/u/.rc'), 'rc\n');
      chownSync(join(r, 'home/u'), 1234, 5678);
      chownSync(join(r, 'home/u/.rc'), 1234, 5678);
      run('setfattr', ['-n', 'user.origin', '-v', 'base', join(r, 'etc/hostname')]);
      chmodSync(join(r, 'opt'), 0o1777);
    },
    'ovl-it-1',
  );
  layer(
    'ovl-it-1',
    (r) => {
      rmSync(join(r, 'etc/gone'));
      rmSync(join(r, 'opt/tool'), { recursive: true });
      // /var/lib/app replaced wholesale: removed and made again with other content.
      rmSync(join(r, 'var/lib/app'), { recursive: true });
      mkdirSync(join(r, 'var/lib/app'));
      writeFileSync(join(r, 'var/lib/app/fresh'), 'fresh\n');
    },
    'ovl-it-2',
  );
  layer(
    'ovl-it-2',
    (r) => {
      writeFileSync(join(r, 'etc/hostname'), 'top\n');
      run('setfattr', ['-n', 'user.origin', '-v', 'top', join(r, 'etc/hostname')]);
      linkSync(join(r, 'var/lib/app/fresh'), join(r, 'var/lib/app/fresh-link'));
    },
    'ovl-it-3',
  );
  ctx.oci = join(dir, 'oci');
  buildah('push', '-q', 'ovl-it-3', `oci:${ctx.oci}:it`);
  ctx.archive = join(dir, 'image-docker.tar');
  run('skopeo', ['copy', '-q', `oci:${ctx.oci}:it`, `docker-archive:${ctx.archive}:ovl/it:latest`]);
  const bundle = join(dir, 'umoci-bundle');
  run('umoci', ['unpack', '--image', `${ctx.oci}:it`, bundle]);
  ctx.umoci = join(bundle, 'rootfs');
}

const Real = suite('images built by buildah, compared with umoci unpack');
Real.before(() => {
  if (skip) return;
  ctx.work = tempDir('real');
  buildImage(ctx.work);
});
Real.after(() => {
  if (!ctx.work) return;
  for (const m of readMountinfo()
    .filter((m) => m.mountPoint.startsWith(`${ctx.work}/`))
    .reverse())
    umount2(m.mountPoint, MNT_DETACH);
  removeDir(ctx.work);
});

if (skip) {
  console.log(`real-image tests skipped: ${skip}`);
} else {
  Real('umoci sees the deletions and the replaced dir (sanity of the fixture)', () => {
    const t = snapshotTree(ctx.umoci);
    assert.not.ok(t['/etc/gone']);
    assert.not.ok(t['/opt/tool']);
    assert.not.ok(t['/var/lib/app/data']);
    assert.ok(t['/var/lib/app/fresh']);
  });

  for (const [name, image] of [
    ['OCI layout', () => ctx.oci],
    ['docker archive', () => ctx.archive],
  ] as const) {
    Real(`ovl flatten of the ${name} equals umoci's rootfs`, () => {
      const out = join(ctx.work, `flat-${name.replace(' ', '-')}`);
      const r = ovl(['flatten', image(), out, '-q']);
      assert.is(r.code, 0, r.stderr);
      assert.equal(snapshotTree(out, { mtimes: true }), snapshotTree(ctx.umoci, { mtimes: true }));
    });
  }

  Real('ovl mount of the image (overlay driver) equals umoci rootfs', () => {
    const store = join(ctx.work, 'store');
    const target = join(ctx.work, 'mnt');
    const r = ovl(['mount', ctx.archive, target, '--store', store, '--driver', 'overlay', '-q']);
    assert.is(r.code, 0, r.stderr);
    try {
      assert.equal(snapshotTree(target), snapshotTree(ctx.umoci));
    } finally {
      assert.is(ovl(['umount', target, '--store', store, '--driver', 'overlay']).code, 0);
    }
  });

  Real('the OCI layout and the docker archive unpack to the same chain of layers', () => {
    const store = join(ctx.work, 'store2');
    const a = ovl(['unpack', ctx.oci, '--store', store, '--driver', 'vfs', '--json', '-q']);
    const b = ovl(['unpack', ctx.archive, '--store', store, '--driver', 'vfs', '--json', '-q']);
    assert.is(a.code, 0, a.stderr);
    assert.is(b.code, 0, b.stderr);
    const ra = JSON.parse(a.stdout);
    const rb = JSON.parse(b.stdout);
    assert.is(ra.top, rb.top, 'same chain ID from both formats');
    assert.equal(
      rb.layers.map((l: { reused: boolean }) => l.reused),
      [true, true, true],
      'the second format reuses every layer of the first',
    );
  });
}

Real.run();
