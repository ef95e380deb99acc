import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { lgetxattr, MS_BIND, MS_RDONLY, MS_REMOUNT, mount, readMountinfo, umount2 } from '@ovl/syscall';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { OverlayDriver } from '../src/index.js';
import { mountCount, rejects, skipUnlessRoot, tempHome } from './helpers.js';

const test = suite('overlay driver: options');
const info = (p: string) => readMountinfo().find((m) => m.mountPoint === p);

test('imagestore: layers of a read-only store are found, mounted and built upon', async () => {
  if (skipUnlessRoot('image stores')) return;
  const shared = tempHome('ovl-imagestore-');
  const t = tempHome();
  let bound = false;
  try {
    const fleet = await OverlayDriver.init(shared.dir);
    await fleet.create('os');
    writeFileSync(join(shared.dir, 'os', 'diff', 'etc-release'), 'shared os\n');
    await fleet.create('app', 'os');
    writeFileSync(join(shared.dir, 'app', 'diff', 'app'), 'app\n');
    // the way a fleet shares it: read-only
    mount(shared.dir, shared.dir, '', MS_BIND);
    bound = true;
    mount('none', shared.dir, '', MS_REMOUNT | MS_BIND | MS_RDONLY);
    const d = await OverlayDriver.init(t.dir, { driverOptions: [`overlay.imagestore=${shared.dir}`] });
    assert.ok(await d.exists('app'));
    assert.equal(Object.fromEntries(await d.status())['Image stores'], shared.dir);
    const ro = await d.get('app');
    assert.is(readFileSync(join(ro, 'etc-release'), 'utf8'), 'shared os\n');
    assert.is(readFileSync(join(ro, 'app'), 'utf8'), 'app\n');
    await d.put('app');
    await d.create('container', 'app');
    const m = await d.get('container');
    writeFileSync(join(m, 'mine'), 'x');
    assert.is(readFileSync(join(m, 'app'), 'utf8'), 'app\n');
    await d.put('container');
    assert.ok(existsSync(join(t.dir, 'container', 'diff', 'mine')));
    assert.is((await rejects(() => d.remove('app'))).code, 'ERR_OVL_READ_ONLY_LAYER');
    assert.is(
      (await rejects(() => d.applyDiff('app', undefined, Readable.from([])))).code,
      'ERR_OVL_READ_ONLY_LAYER',
    );
  } finally {
    t.done();
    if (bound) umount2(shared.dir);
    shared.done();
  }
});

test('mountopt: flags become per-mount flags, other options go into the overlay data', async () => {
  if (skipUnlessRoot('mountopt')) return;
  const t = tempHome();
  try {
    const d = await OverlayDriver.init(t.dir, {
      driverOptions: ['overlay.mountopt=nodev,nosuid,redirect_dir=off'],
    });
    await d.create('base');
    await d.create('top', 'base');
    const m = await d.get('top');
    const mi = info(m);
    assert.ok(mi?.options.includes('nodev') && mi.options.includes('nosuid'), mi?.options.join(','));
    assert.is(mi?.fstype, 'overlay');
    await d.put('top');
  } finally {
    t.done();
  }
});

test('userxattr: opaque dirs use user.overlay.* and the mount says userxattr', async () => {
  if (skipUnlessRoot('userxattr')) return;
  const t = tempHome();
  try {
    const d = await OverlayDriver.init(t.dir, { driverOptions: ['overlay.userxattr=true'] });
    if (!d.features.userxattr) {
      console.log('skip: this kernel has no userxattr');
      return;
    }
    await d.create('base');
    mkdirSync(join(t.dir, 'base', 'diff', 'dir'));
    writeFileSync(join(t.dir, 'base', 'diff', 'dir', 'old'), 'old');
    await d.create('top', 'base');
    const src = tempHome('ovl-src-');
    try {
      mkdirSync(join(src.dir, 'dir'));
      writeFileSync(join(src.dir, 'dir', '.wh..wh..opq'), '');
      writeFileSync(join(src.dir, 'dir', 'new'), 'new');
      const { execFileSync } = await import('node:child_process');
      const tar = execFileSync('tar', ['-C', src.dir, '-c', 'dir']);
      await d.applyDiff('top', 'base', Readable.from([tar]));
    } finally {
      src.done();
    }
    assert.is(lgetxattr(join(t.dir, 'top', 'diff', 'dir'), 'user.overlay.opaque')?.toString(), 'y');
    const m = await d.get('top');
    assert.ok(info(m)?.superOptions.includes('userxattr'));
    assert.not.ok(existsSync(join(m, 'dir', 'old')));
    assert.ok(existsSync(join(m, 'dir', 'new')));
    await d.put('top');
  } finally {
    t.done();
  }
});

test('volatile: the upper can be mounted volatile again after put', async () => {
  if (skipUnlessRoot('volatile')) return;
  const t = tempHome();
  try {
    const d = await OverlayDriver.init(t.dir);
    if (!d.features.volatile) {
      console.log('skip: this kernel has no volatile');
      return;
    }
    await d.create('base');
    await d.create('top', 'base');
    for (let i = 0; i < 2; i++) {
      const m = await d.get('top', { options: ['volatile'] });
      // 6.x kernels show it as fsync=volatile
      assert.ok(info(m)?.superOptions.some((o) => o === 'volatile' || o === 'fsync=volatile'));
      writeFileSync(join(m, `f${i}`), 'x');
      await d.put('top');
      assert.ok(existsSync(join(t.dir, 'top', 'work', 'work', 'incompat', 'volatile')));
    }
  } finally {
    t.done();
  }
});

test('mount_program: fuse-overlayfs mounts instead of the kernel', async () => {
  if (skipUnlessRoot('mount_program')) return;
  const program = '/usr/bin/fuse-overlayfs';
  if (!existsSync(program) || !existsSync('/dev/fuse')) {
    console.log('skip: fuse-overlayfs or /dev/fuse missing (apt-get install fuse-overlayfs)');
    return;
  }
  const t = tempHome();
  try {
    const d = await OverlayDriver.init(t.dir, { driverOptions: [`overlay.mount_program=${program}`] });
    await d.create('base');
    writeFileSync(join(t.dir, 'base', 'diff', 'hello'), 'from base\n');
    await d.create('top', 'base');
    const m = await d.get('top');
    assert.is(info(m)?.fstype, 'fuse.fuse-overlayfs');
    assert.is(readFileSync(join(m, 'hello'), 'utf8'), 'from base\n');
    writeFileSync(join(m, 'new'), 'via fuse\n');
    await d.put('top');
    assert.is(mountCount(m), 0);
    assert.is(readFileSync(join(t.dir, 'top', 'diff', 'new'), 'utf8'), 'via fuse\n');
    assert.match(Object.fromEntries(await d.status())['Mount strategy'] ?? '', /fuse-overlayfs/);
  } finally {
    t.done();
  }
});

test.run();
