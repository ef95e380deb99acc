import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AufsStore } from '../src/index.js';
import { rejects, tempDir } from './helpers.js';

const test = suite('AufsStore layout');

test('layers/<id> lists the parents nearest first; diff and mnt dirs exist', async () => {
  const t = tempDir();
  try {
    const s = await AufsStore.open(t.dir);
    await s.create('a');
    await s.create('b', 'a');
    const c = await s.create('c', 'b');
    assert.is(readFileSync(join(t.dir, 'layers', 'a'), 'utf8'), '');
    assert.is(readFileSync(join(t.dir, 'layers', 'c'), 'utf8'), 'b\na\n');
    assert.equal(await s.parents('c'), ['b', 'a']);
    assert.equal(c, {
      id: 'c',
      diff: join(t.dir, 'diff', 'c'),
      mnt: join(t.dir, 'mnt', 'c'),
      layersFile: join(t.dir, 'layers', 'c'),
      parents: ['b', 'a'],
    });
    assert.ok(existsSync(c.diff) && existsSync(c.mnt));
    assert.equal(await s.list(), ['a', 'b', 'c']);
    assert.equal(readdirSync(join(t.dir, 'diff')).sort(), ['a', 'b', 'c']);
  } finally {
    t.done();
  }
});

test('refusals and remove', async () => {
  const t = tempDir();
  try {
    const s = await AufsStore.open(t.dir, { maxDepth: 2 });
    await s.create('a');
    assert.is((await rejects(() => s.create('a'))).code, 'ERR_OVL_LAYER_EXISTS');
    assert.is((await rejects(() => s.create('x', 'nope'))).code, 'ERR_OVL_LAYER_NOT_FOUND');
    await s.create('b', 'a');
    assert.is((await rejects(() => s.create('c', 'b'))).code, 'ERR_OVL_MAX_DEPTH');
    await s.remove('b');
    assert.not.ok(await s.exists('b'));
    for (const d of ['layers', 'diff', 'mnt']) assert.equal(readdirSync(join(t.dir, d)), ['a']);
  } finally {
    t.done();
  }
});

test('repair deletes orphan diff/mnt dirs and remakes a missing mnt dir', async () => {
  const t = tempDir();
  try {
    const s = await AufsStore.open(t.dir);
    await s.create('a');
    mkdirSync(join(t.dir, 'diff', 'orphan'));
    mkdirSync(join(t.dir, 'mnt', 'orphan'));
    mkdirSync(join(t.dir, 'diff', '.removing-z-999999999_1_ab'));
    readdirSync(join(t.dir, 'mnt'));
    const { rmSync } = await import('node:fs');
    rmSync(join(t.dir, 'mnt', 'a'), { recursive: true });
    const r = await s.repair();
    assert.equal(r.halfLayers, ['orphan']);
    assert.equal(r.remadeMnt, ['a']);
    assert.equal(r.leftovers, ['.removing-z-999999999_1_ab']);
    assert.equal(readdirSync(join(t.dir, 'diff')), ['a']);
    assert.equal(readdirSync(join(t.dir, 'mnt')), ['a']);
  } finally {
    t.done();
  }
});

test.run();
