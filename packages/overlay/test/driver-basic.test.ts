import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { OverlayDriver } from '../src/index.js';
import { writeBaseFiles } from './fixtures.js';
import { mountCount, rejects, skipUnlessRoot, snapshotTree, tempHome } from './helpers.js';

const test = suite('overlay driver: graphtest basics');

test('create empty: a base layer and a child read back empty through get', async () => {
  if (skipUnlessRoot('create empty')) return;
  const t = tempHome();
  try {
    const d = await OverlayDriver.init(t.dir);
    await d.create('empty');
    assert.ok(await d.exists('empty'));
    const base = await d.get('empty');
    assert.is(base, join(t.dir, 'empty', 'diff')); // a base layer is never mounted
    assert.equal(readdirSync(base), []);
    await d.put('empty');
    await d.createReadWrite('child', 'empty');
    const merged = await d.get('child');
    assert.is(merged, join(t.dir, 'child', 'merged'));
    assert.is(mountCount(merged), 1);
    assert.equal(readdirSync(merged), []);
    await d.put('child');
    assert.is(mountCount(merged), 0);
  } finally {
    t.done();
  }
});

test('a base with every kind of file reads back identical through a mounted child; a snapshot stays apart', async () => {
  if (skipUnlessRoot('base files')) return;
  const t = tempHome();
  try {
    const d = await OverlayDriver.init(t.dir);
    await d.create('base');
    writeBaseFiles(await d.get('base'));
    await d.put('base');
    const want = snapshotTree(join(t.dir, 'base', 'diff'));
    assert.ok(want.sticky?.startsWith('mode=41705 owner=1:2'), want.sticky);
    assert.ok(want.setuid?.startsWith('mode=104222'), want.setuid);
    await d.create('snap', 'base');
    const merged = await d.get('snap');
    assert.equal(snapshotTree(merged), want);
    // the merged root takes the base's root mode and owner
    assert.is(statSync(merged).mode & 0o7777, statSync(join(t.dir, 'base', 'diff')).mode & 0o7777);
    writeFileSync(join(merged, 'file'), 'changed\n');
    writeFileSync(join(merged, 'new'), 'n');
    assert.is(readFileSync(join(t.dir, 'base', 'diff', 'file'), 'utf8'), 'hello\n');
    assert.equal(snapshotTree(join(t.dir, 'base', 'diff')), want);
    await d.put('snap');
    // a read-only mount of the snapshot shows its changes with no upper
    const ro = await d.get('snap', { readOnly: true });
    assert.is(readFileSync(join(ro, 'file'), 'utf8'), 'changed\n');
    assert.throws(() => writeFileSync(join(ro, 'x'), 'x'), /EROFS/);
    await d.put('snap');
  } finally {
    t.done();
  }
});

test('get twice mounts once; put twice unmounts at zero; extra put is harmless', async () => {
  if (skipUnlessRoot('get/put')) return;
  const t = tempHome();
  try {
    const d = await OverlayDriver.init(t.dir);
    await d.create('base');
    await d.create('top', 'base');
    const a = await d.get('top');
    const b = await d.get('top');
    assert.is(a, b);
    assert.is(mountCount(a), 1);
    await d.put('top');
    assert.is(mountCount(a), 1);
    await d.put('top');
    assert.is(mountCount(a), 0);
    await d.put('top');
    assert.is(mountCount(a), 0);
  } finally {
    t.done();
  }
});

test('remove while mounted unmounts and deletes; metadata and status say where things are', async () => {
  if (skipUnlessRoot('remove while mounted')) return;
  const t = tempHome();
  try {
    const d = await OverlayDriver.init(t.dir);
    await d.create('base');
    await d.create('top', 'base');
    const meta = await d.metadata('top');
    assert.equal(meta, {
      WorkDir: join(t.dir, 'top', 'work'),
      MergedDir: join(t.dir, 'top', 'merged'),
      UpperDir: join(t.dir, 'top', 'diff'),
      LowerDir: join(t.dir, 'base', 'diff'),
    });
    const merged = await d.get('top');
    const status = Object.fromEntries(await d.status());
    assert.is(status['Last mount strategy'], 'absolute');
    assert.is(status.Layers, '2');
    assert.ok(['ext4', 'xfs', 'btrfs', 'tmpfs'].includes(status['Backing Filesystem'] ?? ''));
    await d.remove('top');
    assert.is(mountCount(merged), 0);
    assert.not.ok(existsSync(join(t.dir, 'top')));
    assert.not.ok(await d.exists('top'));
    await d.remove('top'); // removing twice is fine
    // a half-created layer (a dir without its link file, as an older tool might leave) is removable
    mkdirSync(join(t.dir, 'half', 'diff'), { recursive: true });
    await d.remove('half');
    assert.not.ok(existsSync(join(t.dir, 'half')));
  } finally {
    t.done();
  }
});

test("cleanup drops this process's references and unmounts", async () => {
  if (skipUnlessRoot('cleanup')) return;
  const t = tempHome();
  try {
    const d = await OverlayDriver.init(t.dir);
    await d.create('base');
    await d.create('a', 'base');
    await d.create('b', 'a');
    const ma = await d.get('a');
    const mb = await d.get('b');
    await d.get('b');
    assert.equal([mountCount(ma), mountCount(mb)], [1, 1]);
    await d.cleanup();
    assert.equal([mountCount(ma), mountCount(mb)], [0, 0]);
    assert.is(await d.store.refs.count('b'), 0);
  } finally {
    t.done();
  }
});

test('errors: unknown layer, bad ID, existing ID, overlay as backing filesystem', async () => {
  if (skipUnlessRoot('errors')) return;
  const t = tempHome();
  try {
    const d = await OverlayDriver.init(t.dir);
    assert.is((await rejects(() => d.get('nope'))).code, 'ERR_OVL_LAYER_NOT_FOUND');
    assert.is((await rejects(() => d.create('a/b'))).code, 'ERR_OVL_BAD_LAYER_ID');
    assert.is((await rejects(() => d.create('x', 'nope'))).code, 'ERR_OVL_LAYER_NOT_FOUND');
    await d.create('base');
    assert.is((await rejects(() => d.create('base'))).code, 'ERR_OVL_LAYER_EXISTS');
    await d.create('top', 'base');
    const merged = await d.get('top');
    const err = await rejects(() => OverlayDriver.init(join(merged, 'nested')));
    assert.is(err.code, 'ERR_OVL_INCOMPATIBLE_FS');
    assert.match(err.message, /overlay/);
    await d.put('top');
  } finally {
    t.done();
  }
});

test.run();
