import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { OverlayDriver } from '../src/index.js';
import { writeBaseFiles } from './fixtures.js';
import { rejects, skipUnlessRoot, snapshotTree, tempHome } from './helpers.js';

const test = suite('overlay driver: diff, applyDiff, changes, diffSize');

async function collect(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** base (every kind of file) → top: modify, add, delete, replace a dir wholesale (opaque). */
async function baseAndTop(d: OverlayDriver): Promise<void> {
  await d.create('base');
  writeBaseFiles(await d.get('base'));
  await d.put('base');
  await d.create('top', 'base');
  const m = await d.get('top');
  writeFileSync(join(m, 'file'), 'modified\n');
  writeFileSync(join(m, 'added'), Buffer.alloc(1000, 1));
  unlinkSync(join(m, 'symlink'));
  rmSync(join(m, 'deep'), { recursive: true });
  mkdirSync(join(m, 'deep'));
  writeFileSync(join(m, 'deep', 'fresh'), 'abc');
  await d.put('top');
}

async function merged(d: OverlayDriver, id: string): Promise<Record<string, string>> {
  const m = await d.get(id, { readOnly: true });
  try {
    return snapshotTree(m);
  } finally {
    await d.put(id);
  }
}

test('diff of a layer, applied to a new layer on the same parent, gives the same merged tree', async () => {
  if (skipUnlessRoot('diff/applyDiff')) return;
  const t = tempHome();
  try {
    const d = await OverlayDriver.init(t.dir);
    await baseAndTop(d);
    const tar = await collect(d.diff('top'));
    const names = execFileSync('tar', ['-t'], { input: tar }).toString().split('\n');
    assert.ok(names.includes('symlink') || names.includes('.wh.symlink'));
    assert.ok(names.includes('.wh.symlink'), names.join(' '));
    assert.ok(names.includes('deep/.wh..wh..opq') || names.includes('deep/'), names.join(' '));
    await d.create('copy', 'base');
    const size = await d.applyDiff('copy', 'base', Readable.from([tar]));
    assert.is(size, tar.length);
    assert.equal(await merged(d, 'copy'), await merged(d, 'top'));
    assert.not.ok((await merged(d, 'copy')).symlink);
    assert.equal(
      readdirSync(t.dir).filter((n) => n.startsWith('.tmp')),
      [],
    );
  } finally {
    t.done();
  }
});

test('naive diff against a grandparent (not the real parent) still reproduces the tree', async () => {
  if (skipUnlessRoot('naive diff')) return;
  const t = tempHome();
  try {
    const d = await OverlayDriver.init(t.dir);
    await baseAndTop(d);
    await d.create('upper', 'top');
    const m = await d.get('upper');
    writeFileSync(join(m, 'more'), 'more');
    unlinkSync(join(m, 'added'));
    await d.put('upper');
    const tar = await collect(d.diff('upper', 'base'));
    await d.create('flat', 'base');
    await d.applyDiff('flat', undefined, Readable.from([tar]));
    assert.equal(await merged(d, 'flat'), await merged(d, 'upper'));
  } finally {
    t.done();
  }
});

test('changes and diffSize against the parent', async () => {
  if (skipUnlessRoot('changes')) return;
  const t = tempHome();
  try {
    const d = await OverlayDriver.init(t.dir);
    await baseAndTop(d);
    const list = await d.changes('top');
    const byPath = Object.fromEntries(list.map((c) => [c.path, c.kind]));
    assert.is(byPath['/file'], 'modify');
    assert.is(byPath['/added'], 'add');
    assert.is(byPath['/symlink'], 'delete');
    assert.is(byPath['/deep/fresh'], 'add');
    assert.is(byPath['/deep/er'], 'delete');
    assert.is(await d.diffSize('top'), 'modified\n'.length + 1000 + 3);
    // the same through the naive path: against base explicitly via a child
    assert.equal(await d.changes('top', 'base'), list);
    // naive paths (an explicit parent that is not the real one) agree with the native ones
    await d.create('above', 'top');
    assert.equal(await d.changes('above', 'base'), list);
    assert.is(await d.diffSize('above', 'base'), await d.diffSize('top'));
    // a base layer: everything is added
    const baseChanges = await d.changes('base');
    assert.ok(baseChanges.every((c) => c.kind === 'add'));
    assert.ok(baseChanges.some((c) => c.path === '/deep/er/est/leaf'));
  } finally {
    t.done();
  }
});

test('a failed applyDiff leaves the layer as it was', async () => {
  if (skipUnlessRoot('failed applyDiff')) return;
  const t = tempHome();
  try {
    const d = await OverlayDriver.init(t.dir);
    await baseAndTop(d);
    const good = await collect(d.diff('top'));
    await d.create('target', 'base');
    await d.applyDiff('target', 'base', Readable.from([good]));
    const before = snapshotTree(join(t.dir, 'target', 'diff'));
    // a tar that adds a file, then breaks off in the middle of a body
    const src = join(t.dir, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'big'), Buffer.alloc(200_000, 3));
    writeFileSync(join(src, 'a-first'), 'x');
    const broken = execFileSync('tar', ['-C', src, '-c', 'a-first', 'big']).subarray(0, 100_000);
    const err = await rejects(() => d.applyDiff('target', undefined, Readable.from([broken])));
    assert.ok(err.code?.startsWith('ERR_OVL_'), String(err.code));
    assert.equal(snapshotTree(join(t.dir, 'target', 'diff')), before);
    assert.equal(
      readdirSync(t.dir).filter((n) => n.startsWith('.tmp')),
      [],
    );
  } finally {
    t.done();
  }
});

test.run();
