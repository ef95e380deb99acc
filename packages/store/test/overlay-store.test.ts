import { chmodSync, chownSync, existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { OverlayStore } from '../src/index.js';
import { rejects, tempDir } from './helpers.js';

const test = suite('OverlayStore layout');

test('a base layer and a child have the containers/storage layout', async () => {
  const t = tempDir();
  try {
    const s = await OverlayStore.open(t.dir);
    const base = await s.create('base');
    assert.equal(readdirSync(base.dir).sort(), ['diff', 'link', 'merged', 'work']);
    const link = readFileSync(join(base.dir, 'link'), 'utf8');
    assert.match(link, /^[A-Z0-9]{26}$/);
    assert.is(readlinkSync(join(t.dir, 'l', link)), '../base/diff');
    const child = await s.create('child', 'base');
    const grand = await s.create('grand', 'child');
    assert.is(readFileSync(join(child.dir, 'lower'), 'utf8'), `l/${link}`);
    assert.is(readFileSync(join(grand.dir, 'lower'), 'utf8'), `l/${child.link}:l/${link}`);
    assert.equal((await s.layer('grand')).lowers, [`l/${child.link}`, `l/${link}`]);
    assert.equal(await s.lowerDirs('grand'), [join(t.dir, 'child', 'diff'), join(t.dir, 'base', 'diff')]);
    assert.equal(await s.list(), ['base', 'child', 'grand']);
    assert.ok(await s.exists('child'));
    assert.not.ok(await s.exists('nope'));
    // only layers, l/ and the refs dir: nothing staged is left behind
    assert.equal(readdirSync(t.dir).sort(), ['.refs', 'base', 'child', 'grand', 'l']);
  } finally {
    t.done();
  }
});

test('a child diff dir takes the mode and owner of its parent', async () => {
  const t = tempDir();
  try {
    const s = await OverlayStore.open(t.dir);
    const base = await s.create('base');
    chmodSync(base.diff, 0o1705);
    if (process.getuid?.() === 0) chownSync(base.diff, 1, 2);
    const child = await s.create('child', 'base');
    const st = statSync(child.diff);
    assert.is(st.mode & 0o7777, 0o1705);
    if (process.getuid?.() === 0) assert.equal([st.uid, st.gid], [1, 2]);
  } finally {
    t.done();
  }
});

test('refuses existing IDs, missing parents, bad IDs and too deep stacks', async () => {
  const t = tempDir();
  try {
    const s = await OverlayStore.open(t.dir, { maxDepth: 3 });
    await s.create('a');
    assert.is((await rejects(() => s.create('a'))).code, 'ERR_OVL_LAYER_EXISTS');
    assert.is((await rejects(() => s.create('x', 'missing'))).code, 'ERR_OVL_LAYER_NOT_FOUND');
    assert.is((await rejects(() => s.create('../evil'))).code, 'ERR_OVL_BAD_LAYER_ID');
    await s.create('b', 'a');
    await s.create('c', 'b');
    const err = await rejects(() => s.create('d', 'c'));
    assert.is(err.code, 'ERR_OVL_MAX_DEPTH');
    assert.match(err.message, /maximum of 3/);
    assert.not.ok(existsSync(join(t.dir, 'd')));
  } finally {
    t.done();
  }
});

test('remove deletes the layer and its l/ link, and is a no-op when missing', async () => {
  const t = tempDir();
  try {
    const s = await OverlayStore.open(t.dir);
    const a = await s.create('a');
    await s.remove('a');
    assert.not.ok(existsSync(a.dir));
    assert.not.ok(existsSync(join(t.dir, 'l', a.link)));
    assert.equal(readdirSync(t.dir).sort(), ['.refs', 'l']);
    await s.remove('a');
    assert.is((await rejects(() => s.layer('a'))).code, 'ERR_OVL_LAYER_NOT_FOUND');
  } finally {
    t.done();
  }
});

test.run();
