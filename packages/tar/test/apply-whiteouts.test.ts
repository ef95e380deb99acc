import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lgetxattr } from '@ovl/syscall';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { apply } from '../src/index.js';
import { buildTar, streamOf } from './fixtures/layer-tar.js';
import { removeDir, tempDir } from './fixtures/tree.js';

const isRoot = process.getuid?.() === 0;
let dir = '';
const ls = (p: string) => readdirSync(join(dir, p)).sort();

/** A merged tree as earlier layers left it. */
function lowerTree() {
  mkdirSync(join(dir, 'etc/old.d'), { recursive: true });
  writeFileSync(join(dir, 'etc/keep'), 'keep');
  writeFileSync(join(dir, 'etc/gone'), 'gone');
  writeFileSync(join(dir, 'etc/old.d/a'), 'a');
  mkdirSync(join(dir, 'opq/sub'), { recursive: true });
  writeFileSync(join(dir, 'opq/lower1'), '1');
  writeFileSync(join(dir, 'opq/sub/lower2'), '2');
  writeFileSync(join(dir, 'shared'), 'from an earlier layer');
}

const Flatten = suite("apply 'flatten': whiteouts on a merged tree");
Flatten.before.each(() => {
  dir = tempDir('flatten');
  lowerTree();
});
Flatten.after.each(() => removeDir(dir));

Flatten('.wh.<name> removes files and whole dirs; no .wh. name remains', async () => {
  const tar = await buildTar([
    { name: 'etc/', type: 'directory' },
    { name: 'etc/.wh.gone', content: '' },
    { name: 'etc/.wh.old.d', content: '' },
    { name: 'etc/.wh.never-there', content: '' },
    { name: 'nodir/.wh.x', content: '' },
  ]);
  await apply(streamOf(tar), dir);
  assert.equal(ls('etc'), ['keep']);
  assert.not.ok(existsSync(join(dir, 'nodir')), 'a whiteout creates nothing');
});

for (const order of ['marker first', 'marker last'] as const) {
  Flatten(`.wh..wh..opq empties the dir of older content, keeps this layer's (${order})`, async () => {
    const own = [
      { name: 'opq/', type: 'directory' as const },
      { name: 'opq/new', content: 'new' },
      { name: 'opq/sub/', type: 'directory' as const },
      { name: 'opq/sub/new2', content: 'new2' },
    ];
    const marker = { name: 'opq/.wh..wh..opq', content: '' };
    const tar = await buildTar(
      order === 'marker first' ? [own[0]!, marker, ...own.slice(1)] : [...own, marker],
    );
    await apply(streamOf(tar), dir);
    assert.equal(ls('opq'), ['new', 'sub']);
    assert.equal(ls('opq/sub'), ['new2'], 'a dir this layer re-creates still hides the older children');
    assert.equal(ls('etc'), ['gone', 'keep', 'old.d']);
  });
}

Flatten(
  'a dir replaced wholesale (.wh.dir, then dir/ with new content) keeps only the new content',
  async () => {
    const tar = await buildTar([
      { name: 'etc/.wh.old.d', content: '' },
      { name: 'etc/old.d/', type: 'directory' },
      { name: 'etc/old.d/b', content: 'b' },
    ]);
    await apply(streamOf(tar), dir);
    assert.equal(ls('etc/old.d'), ['b']);
    // The same facts in the other order: a whiteout only hides what lower layers put there.
    const tar2 = await buildTar([
      { name: 'etc/old.d/', type: 'directory' },
      { name: 'etc/old.d/c', content: 'c' },
      { name: 'etc/.wh.old.d', content: '' },
    ]);
    await apply(streamOf(tar2), dir);
    assert.equal(ls('etc/old.d'), ['c']);
  },
);

Flatten('hardlinks may point to files of earlier layers', async () => {
  const tar = await buildTar([{ name: 'again', type: 'link', linkname: 'shared' }]);
  await apply(streamOf(tar), dir);
  assert.is(lstatSync(join(dir, 'again')).ino, lstatSync(join(dir, 'shared')).ino);
  assert.is(readFileSync(join(dir, 'again'), 'utf8'), 'from an earlier layer');
});

Flatten('aufs metadata (.wh..wh.plnk and friends) is skipped', async () => {
  const tar = await buildTar([
    { name: '.wh..wh.plnk/', type: 'directory' },
    { name: '.wh..wh.aufs', content: '' },
    { name: 'etc/.wh..wh.orph', content: '' },
  ]);
  await apply(streamOf(tar), dir);
  assert.not.ok(existsSync(join(dir, '.wh..wh.plnk')));
  assert.not.ok(existsSync(join(dir, '.wh..wh.aufs')));
  assert.not.ok(existsSync(join(dir, 'etc/.wh..wh.orph')));
});

Flatten.run();

const Overlay = suite("apply 'overlay': whiteouts as overlayfs keeps them in an upper dir");
Overlay.before.each(() => {
  dir = tempDir('overlay');
});
Overlay.after.each(() => removeDir(dir));

Overlay('.wh.<name> becomes a 0/0 char device owned as the entry says; opaque sets the xattr', async () => {
  if (!isRoot) return console.log('  skipped: mknod and trusted.* xattrs need root');
  const tar = await buildTar([
    { name: 'etc/', type: 'directory' },
    { name: 'etc/.wh.gone', content: '', uid: 5, gid: 6 },
    { name: 'var/', type: 'directory' },
    { name: 'var/.wh..wh..opq', content: '' },
    { name: 'var/log', content: 'x' },
    { name: '.wh..wh.plnk/', type: 'directory' },
  ]);
  await apply(streamOf(tar), dir, { format: 'overlay' });
  const st = lstatSync(join(dir, 'etc/gone'));
  assert.ok(st.isCharacterDevice());
  assert.is(st.rdev, 0);
  assert.equal([st.uid, st.gid], [5, 6]);
  assert.is(lgetxattr(join(dir, 'var'), 'trusted.overlay.opaque')?.toString(), 'y');
  assert.equal(readdirSync(join(dir, 'var')), ['log']);
  assert.equal(readdirSync(dir).sort(), ['etc', 'var'], 'no .wh. name remains');
});

Overlay('userxattr marks opaque dirs with user.overlay.opaque', async () => {
  const tar = await buildTar([{ name: 'd/.wh..wh..opq', content: '' }]);
  try {
    await apply(streamOf(tar), dir, { format: 'overlay', userxattr: true });
  } catch (err) {
    return console.log(`  skipped: user xattrs refused here (${(err as Error).message})`);
  }
  assert.is(lgetxattr(join(dir, 'd'), 'user.overlay.opaque')?.toString(), 'y');
  assert.is(lgetxattr(join(dir, 'd'), 'trusted.overlay.opaque'), undefined);
});

Overlay('a whiteout below a path an earlier whiteout removed is not an error', async () => {
  if (!isRoot) return console.log('  skipped: mknod needs root');
  // What `rm -rf /foo/bar; rm -rf /foo` leaves in a diff, in this order.
  const tar = await buildTar([
    { name: '.wh.foo', content: '' },
    { name: 'foo/.wh.bar', content: '' },
    { name: 'foo/deeper/.wh.baz', content: '' },
  ]);
  await apply(streamOf(tar), dir, { format: 'overlay' });
  assert.ok(lstatSync(join(dir, 'foo')).isCharacterDevice());
});

Overlay.run();

const Aufs = suite("apply 'aufs': whiteouts stay files");
Aufs.before.each(() => {
  dir = tempDir('aufs');
});
Aufs.after.each(() => removeDir(dir));

Aufs('.wh.<name> and .wh..wh..opq are kept as the files they are', async () => {
  const tar = await buildTar([
    { name: 'etc/.wh.gone', content: '' },
    { name: 'var/.wh..wh..opq', content: '' },
    { name: 'var/log', content: 'x' },
  ]);
  await apply(streamOf(tar), dir, { format: 'aufs' });
  assert.ok(lstatSync(join(dir, 'etc/.wh.gone')).isFile());
  assert.equal(readdirSync(join(dir, 'var')).sort(), ['.wh..wh..opq', 'log']);
});

Aufs.run();
