// The vfs driver needs no mount and no root: layers are full copies. Checked as a user would: the
// trees it holds, its diff applied elsewhere, and a failed applyDiff leaving the layer as it was.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { apply } from '@ovl/tar';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { open, VfsDriver } from '../src/index.js';
import { embeddedImage, ovl, removeDir, tempDir } from './helpers/cli.js';
import { snapshotTree } from './helpers/tree-snapshot.js';

const Vfs = suite('vfs driver');
const ctx = { work: '', driver: undefined as unknown as VfsDriver };
Vfs.before.each(async () => {
  ctx.work = tempDir('vfs');
  ctx.driver = await VfsDriver.init(join(ctx.work, 'store'));
});
Vfs.after.each(() => removeDir(ctx.work));

/** A layer tar made from a directory by @ovl/tar's naive diff against nothing. */
async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const src = join(ctx.work, `src-${Math.random().toString(36).slice(2)}`);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(src, p, '..'), { recursive: true });
    writeFileSync(join(src, p), text);
  }
  const { diff } = await import('@ovl/tar');
  const chunks: Buffer[] = [];
  for await (const c of diff({ tree: src, lowers: [] })) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

Vfs('create copies the parent; applyDiff adds on top; the parent is untouched', async () => {
  const d = ctx.driver;
  await d.create('base');
  await d.applyDiff('base', undefined, Readable.from([await tarOf({ 'etc/a': 'A', 'etc/b': 'B' })]));
  await d.create('child', 'base');
  const layer = await tarOf({ 'etc/c': 'C' });
  assert.is(
    await d.applyDiff('child', 'base', Readable.from([layer])),
    layer.length,
    'the size of the layer tar',
  );
  const child = await d.get('child');
  assert.equal(Object.keys(snapshotTree(child)).sort(), ['/etc', '/etc/a', '/etc/b', '/etc/c']);
  assert.not.ok(existsSync(join(await d.get('base'), 'etc', 'c')));
});

Vfs('changes and diff of a child against its parent', async () => {
  const d = ctx.driver;
  await d.create('base');
  await d.applyDiff('base', undefined, Readable.from([await tarOf({ a: '1', gone: 'x' })]));
  await d.create('child', 'base');
  const dir = await d.get('child');
  writeFileSync(join(dir, 'a'), '22');
  writeFileSync(join(dir, 'new'), 'n');
  const { rmSync } = await import('node:fs');
  rmSync(join(dir, 'gone'));
  const changes = await d.changes('child', 'base');
  assert.equal(changes.map((c) => `${c.kind} ${c.path}`).sort(), ['add /new', 'delete /gone', 'modify /a']);
  assert.is(await d.diffSize('child', 'base'), 3);
  // The diff applied on a copy of the parent gives the child's tree.
  const replay = join(ctx.work, 'replay');
  mkdirSync(replay);
  const { execFileSync } = await import('node:child_process');
  execFileSync('cp', ['-a', `${await d.get('base')}/.`, replay]);
  await apply(d.diff('child', 'base'), replay, { format: 'flatten' });
  assert.equal(snapshotTree(replay), snapshotTree(dir));
});

Vfs('a failed applyDiff leaves the layer exactly as it was', async () => {
  const d = ctx.driver;
  await d.create('base');
  await d.applyDiff('base', undefined, Readable.from([await tarOf({ keep: 'k' })]));
  const before = snapshotTree(await d.get('base'));
  const good = await tarOf({ partial: 'p'.repeat(5000) });
  const truncated = good.subarray(0, 700); // header plus part of the content: the stream ends early
  try {
    await d.applyDiff('base', undefined, Readable.from([truncated]));
    assert.unreachable('a truncated layer must fail');
  } catch (err) {
    assert.match((err as { code?: string }).code ?? '', /^ERR_OVL_/);
  }
  assert.equal(snapshotTree(await d.get('base')), before);
});

Vfs('remove, exists, and unknown layers', async () => {
  const d = ctx.driver;
  await d.create('x');
  assert.ok(await d.exists('x'));
  await d.remove('x');
  assert.not.ok(await d.exists('x'));
  try {
    await d.get('x');
    assert.unreachable();
  } catch (err) {
    assert.is((err as { code?: string }).code, 'ERR_OVL_LAYER_NOT_FOUND');
  }
  try {
    await d.create('../escape');
    assert.unreachable();
  } catch (err) {
    assert.is((err as { code?: string }).code, 'ERR_OVL_BAD_LAYER_ID');
  }
});

Vfs.run();

const Registry = suite('driver registry');
Registry('an unknown driver name is an error listing the registered ones', async () => {
  const work = tempDir('reg');
  try {
    await open(join(work, 's'), { driver: 'zfs' });
    assert.unreachable();
  } catch (err) {
    assert.is((err as { code?: string }).code, 'ERR_OVL_UNKNOWN_DRIVER');
    assert.match((err as Error).message, /overlay, aufs, vfs/);
  } finally {
    removeDir(work);
  }
});

Registry('auto picks overlay where the kernel has it (as root), else falls back', async () => {
  const work = tempDir('reg');
  const home = join(work, 's');
  try {
    const driver = await open(home);
    const overlay = readFileSync('/proc/filesystems', 'utf8').includes('overlay');
    if (process.getuid?.() === 0 && overlay) assert.is(driver.name, 'overlay');
    else assert.ok(['aufs', 'vfs'].includes(driver.name), driver.name);
    assert.is(driver.home, home);
  } finally {
    removeDir(work);
  }
});

Registry('a store keeps its driver: auto reopens it with that one, naming another is refused', async () => {
  const work = tempDir('reg');
  const home = join(work, 's');
  try {
    const first = ovl(['unpack', embeddedImage, '--store', home, '--driver', 'vfs', '-q']);
    assert.is(first.code, 0, first.stderr);
    assert.is(readFileSync(join(home, '.ovl', 'driver'), 'utf8'), 'vfs\n');
    // as root with overlayfs, auto would pick overlay for a new store; this one is vfs and stays so
    assert.is((await open(home)).name, 'vfs');
    const ls = JSON.parse(ovl(['ls', '--json', '--store', home]).stdout) as Array<{ id: string }>;
    assert.is(ls.length, 3);
    const top = first.stdout.trim();
    const diff = ovl(['changes', top, '--store', home, '--json']);
    assert.is(diff.code, 0, `auto finds the vfs layers: ${diff.stderr}`);
    const other = ovl(['ls', '--store', home, '--driver', 'overlay']);
    assert.is(other.code, 2, other.stderr);
    assert.match(other.stderr, /created with the vfs driver, not overlay: use --driver vfs/);
    try {
      await open(home, { driver: 'aufs' });
      assert.unreachable();
    } catch (err) {
      assert.is((err as { code?: string }).code, 'ERR_OVL_DRIVER_MISMATCH');
    }
  } finally {
    removeDir(work);
  }
});

Registry('register adds a driver that open can pick by name', async () => {
  const { register } = await import('../src/index.js');
  const work = tempDir('reg');
  try {
    register('copy', (h) => VfsDriver.init(h));
    const d = await open(join(work, 's'), { driver: 'copy' });
    assert.is(d.name, 'vfs');
  } finally {
    removeDir(work);
  }
});

Registry.run();
