/**
 * Hostile layers: nothing may be written, deleted or changed outside the target. Each case builds its
 * tar here, applies it, and compares a full description of a directory outside the target (contents,
 * modes, mtimes, xattrs, link counts) before and after.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { apply, type TarError } from '../src/index.js';
import { buildTar, streamOf, type TestEntry } from './fixtures/layer-tar.js';
import { describeTree, removeDir, tempDir } from './fixtures/tree.js';

const isRoot = process.getuid?.() === 0;
let target = '';
let outside = '';
let before: ReturnType<typeof describeTree>;

const Safety = suite('apply: hostile layers never touch anything outside the target');
Safety.before.each(() => {
  target = tempDir('target');
  outside = tempDir('outside');
  writeFileSync(join(outside, 'victim'), 'precious');
  mkdirSync(join(outside, 'dir'));
  writeFileSync(join(outside, 'dir/file'), 'also precious');
  before = describeTree(outside, { mtimes: true });
});
Safety.after.each(() => {
  // The outside tree is exactly as it was, whatever the case did.
  assert.equal(describeTree(outside, { mtimes: true }), before, 'the outside dir changed');
  removeDir(target);
  removeDir(outside);
});

async function refused(
  entries: TestEntry[] | Buffer,
  code: string,
  entry?: string,
  format?: 'overlay' | 'flatten',
) {
  const tar = Buffer.isBuffer(entries) ? entries : await buildTar(entries);
  try {
    await apply(streamOf(tar), target, { format });
  } catch (err) {
    assert.is((err as TarError).code, code, (err as Error).message);
    if (entry !== undefined) assert.is((err as TarError).entry, entry);
    return err as TarError;
  }
  assert.unreachable(`expected ${code}`);
}

for (const name of ['../escape', 'a/../../escape', 'a/b/../../../escape', '..']) {
  Safety(`a '..' that climbs out of the target is refused: ${name}`, async () => {
    await refused([{ name, content: 'x' }], 'ERR_OVL_UNSAFE_PATH', name);
    assert.not.ok(existsSync(join(target, '..', 'escape')));
  });
}

Safety('absolute names land inside the target, as a chroot would place them', async () => {
  const tar = await buildTar([{ name: join(outside, 'victim'), content: 'pwned' }]);
  await apply(streamOf(tar), target);
  assert.is(readFileSync(join(target, outside, 'victim'), 'utf8'), 'pwned');
});

Safety('a symlink made by the layer to an absolute path outside resolves inside the target', async () => {
  const tar = await buildTar([
    { name: 'evil', type: 'symlink', linkname: outside },
    { name: 'evil/victim', content: 'pwned' },
    { name: 'evil/dir/', type: 'directory', mode: 0o777 },
    { name: 'evil/dir/file', content: 'pwned', pax: { 'SCHILY.xattr.user.x': 'y' } },
  ]);
  await apply(streamOf(tar), target);
  assert.is(readFileSync(join(target, outside, 'victim'), 'utf8'), 'pwned');
  assert.is(readFileSync(join(target, outside, 'dir/file'), 'utf8'), 'pwned');
});

Safety('a relative symlink climbing with ../.. stops at the top of the target', async () => {
  const depth = outside.split('/').length + 3;
  const tar = await buildTar([
    { name: 'a/b/up', type: 'symlink', linkname: `${'../'.repeat(depth)}${outside.slice(1)}` },
    { name: 'a/b/up/victim', content: 'pwned' },
  ]);
  await apply(streamOf(tar), target);
  assert.is(readFileSync(join(target, outside, 'victim'), 'utf8'), 'pwned');
});

Safety('a symlink already in the target that leads outside resolves inside too', async () => {
  symlinkSync(outside, join(target, 'pre'));
  symlinkSync('../../../../../../../../../..', join(target, 'rel'));
  const tar = await buildTar([
    { name: 'pre/victim', content: 'pwned' },
    { name: `rel${outside}/dir/file`, content: 'pwned' },
  ]);
  await apply(streamOf(tar), target);
  assert.is(readFileSync(join(target, outside, 'victim'), 'utf8'), 'pwned');
  assert.is(readFileSync(join(target, outside, 'dir/file'), 'utf8'), 'pwned');
});

Safety('a symlink swapped in after its path was cached is followed safely (cache invalidated)', async () => {
  const tar = await buildTar([
    { name: 'd/', type: 'directory' },
    { name: 'd/one', content: '1' },
    { name: 'd', type: 'symlink', linkname: outside },
    { name: 'd/victim', content: 'pwned' },
  ]);
  await apply(streamOf(tar), target);
  assert.ok(lstatSync(join(target, 'd')).isSymbolicLink());
  assert.is(readFileSync(join(target, outside, 'victim'), 'utf8'), 'pwned');
});

Safety('hardlinks whose source climbs out are refused; through a symlink they stay inside', async () => {
  await refused([{ name: 'hl', type: 'link', linkname: '../outside/victim' }], 'ERR_OVL_UNSAFE_PATH', 'hl');
  await refused(
    [
      { name: 'evil', type: 'symlink', linkname: outside },
      { name: 'hl', type: 'link', linkname: 'evil/victim' },
    ],
    'ERR_OVL_BAD_LINK',
    'hl',
  );
  await refused([{ name: 'hl', type: 'link', linkname: join(outside, 'victim') }], 'ERR_OVL_BAD_LINK', 'hl');
});

Safety('a hardlink to a symlink that points outside links the symlink, not its target', async () => {
  const tar = await buildTar([
    { name: 's', type: 'symlink', linkname: join(outside, 'victim') },
    { name: 'hl', type: 'link', linkname: 's' },
  ]);
  await apply(streamOf(tar), target);
  assert.ok(lstatSync(join(target, 'hl')).isSymbolicLink());
  assert.is(lstatSync(join(outside, 'victim')).nlink, 1);
});

for (const format of ['flatten', 'overlay'] as const) {
  Safety(`${format}: whiteouts naming '..' or '.' are refused`, async () => {
    if (format === 'overlay' && !isRoot) return console.log('  skipped: overlay whiteouts need root');
    await refused([{ name: '.wh...', content: '' }], 'ERR_OVL_UNSAFE_PATH', '.wh...', format);
    await refused([{ name: 'a/.wh..', content: '' }], 'ERR_OVL_UNSAFE_PATH', 'a/.wh..', format);
    await refused([{ name: 'a/../../.wh.victim', content: '' }], 'ERR_OVL_UNSAFE_PATH', undefined, format);
  });

  Safety(`${format}: whiteouts and opaque markers reached through a symlink stay inside`, async () => {
    if (format === 'overlay' && !isRoot) return console.log('  skipped: overlay whiteouts need root');
    symlinkSync(outside, join(target, 'pre'));
    const tar = await buildTar([
      { name: 'evil', type: 'symlink', linkname: outside },
      { name: 'evil/.wh.victim', content: '' },
      { name: 'evil/.wh.dir', content: '' },
      { name: 'pre/.wh.victim', content: '' },
      { name: 'pre/dir/.wh..wh..opq', content: '' },
      { name: 'evil/.wh..wh..opq', content: '' },
    ]);
    await apply(streamOf(tar), target, { format });
  });
}

Safety('a symlink loop on the path is refused, naming the entry', async () => {
  await refused(
    [
      { name: 'a', type: 'symlink', linkname: 'b' },
      { name: 'b', type: 'symlink', linkname: 'a' },
      { name: 'a/x', content: 'x' },
    ],
    'ERR_OVL_UNSAFE_PATH',
    'a/x',
  );
});

Safety('an entry may not replace the target itself', async () => {
  await refused([{ name: './', type: 'symlink', linkname: outside }], 'ERR_OVL_UNSAFE_PATH', './');
  assert.ok(lstatSync(target).isDirectory());
});

Safety('noDevices refuses char and block devices', async () => {
  const tar = await buildTar([{ name: 'mem', type: 'character-device', devmajor: 1, devminor: 1 }]);
  try {
    await apply(streamOf(tar), target, { noDevices: true });
    assert.unreachable();
  } catch (err) {
    assert.is((err as TarError).code, 'ERR_OVL_DEVICE_REFUSED');
  }
  assert.not.ok(existsSync(join(target, 'mem')));
});

const Broken = suite('apply: broken streams end with ERR_OVL_BAD_TAR, quickly');
Broken.before.each(() => {
  target = tempDir('broken');
});
Broken.after.each(() => removeDir(target));

async function badTar(input: Buffer, message?: RegExp) {
  try {
    await apply(streamOf(input, 4096), target);
  } catch (err) {
    assert.is((err as TarError).code, 'ERR_OVL_BAD_TAR', (err as Error).message);
    if (message) assert.match((err as Error).message, message);
    return;
  }
  assert.unreachable('expected ERR_OVL_BAD_TAR');
}

Broken('a truncated stream (inside a file body, inside a header)', async () => {
  const tar = await buildTar([
    { name: 'a', content: Buffer.alloc(100_000, 1) },
    { name: 'b', content: 'b' },
  ]);
  await badTar(tar.subarray(0, 50_000), /after entry 'a'/);
  await badTar(tar.subarray(0, 512 + 100_352 + 100));
});

Broken('garbage, and a header whose checksum does not match', async () => {
  await badTar(Buffer.from('this is not a tar file at all, not even close'.repeat(40)));
  const tar = await buildTar([{ name: 'a', content: 'x' }]);
  tar[10] = 0x41; // the name changes, the checksum does not
  await badTar(tar);
});

Broken('a header whose size lies (8 GiB claimed) fails at the end without allocating it', async () => {
  const tar = await buildTar([{ name: 'big', content: 'abc' }]);
  setOctal(tar, 124, 12, 8 * 1024 ** 3);
  const rss = process.memoryUsage().rss;
  await badTar(tar);
  assert.ok(process.memoryUsage().rss - rss < 64 * 1024 * 1024, 'memory grew with the claimed size');
  // A PAX size that lies the same way.
  const pax = await buildTar([{ name: 'big2', content: 'abc', pax: { size: String(2 ** 40) } }]);
  await badTar(pax);
});

Broken('a PAX header claiming more than tar-stream accepts is refused', async () => {
  const tar = await buildTar([{ name: 'p', content: 'x', pax: { comment: 'x'.repeat(4096) } }]);
  setOctal(tar, 124, 12, 64 * 1024 * 1024); // the PAX header's own size
  await badTar(tar);
});

Broken('truncated gzip and corrupt zstd streams', async () => {
  const tar = await buildTar([{ name: 'a', content: Buffer.alloc(50_000, 7) }]);
  const gz = gzipSync(tar);
  await badTar(gz.subarray(0, gz.length - 20));
  const zstdMagic = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
  for (const zstd of ['js', 'auto'] as const) {
    try {
      await apply(streamOf(Buffer.concat([zstdMagic, Buffer.alloc(300, 0xee)])), target, { zstd });
      assert.unreachable();
    } catch (err) {
      assert.is((err as TarError).code, 'ERR_OVL_BAD_TAR', (err as Error).message);
    }
  }
});

Broken('entry types a layer cannot hold are refused', async () => {
  const tar = await buildTar([{ name: 'a', content: 'x' }]);
  tar[156] = 'V'.charCodeAt(0); // a volume label
  setOctal(tar, 148, 8, checksum(tar.subarray(0, 512)));
  await badTar(tar, /type/);
});

/** Writes `value` as a NUL-terminated octal field and fixes the header checksum. */
function setOctal(buf: Buffer, off: number, len: number, value: number) {
  buf.write(`${value.toString(8).padStart(len - 1, '0')}\0`, off, len, 'latin1');
  const sum = checksum(buf.subarray(0, 512));
  buf.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
}

function checksum(header: Buffer): number {
  let sum = 8 * 32;
  for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) sum += header[i]!;
  return sum;
}

Safety.run();
Broken.run();
