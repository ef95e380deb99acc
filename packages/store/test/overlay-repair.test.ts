import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  unlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { OverlayStore } from '../src/index.js';
import { tempDir } from './helpers.js';

const test = suite('OverlayStore repair on open');

test('recreates missing and wrong l/ links, drops dangling ones', async () => {
  const t = tempDir();
  try {
    const s = await OverlayStore.open(t.dir);
    const a = await s.create('a');
    const b = await s.create('b', 'a');
    unlinkSync(join(t.dir, 'l', a.link));
    unlinkSync(join(t.dir, 'l', b.link));
    symlinkSync('../a/diff', join(t.dir, 'l', b.link));
    symlinkSync('../gone/diff', join(t.dir, 'l', 'ZZZZZZZZZZZZZZZZZZZZZZZZZZ'));
    const r = await s.repair();
    assert.equal(r.relinked.sort(), ['a', 'b']);
    assert.equal(r.danglingLinks, ['ZZZZZZZZZZZZZZZZZZZZZZZZZZ']);
    assert.is(readlinkSync(join(t.dir, 'l', a.link)), '../a/diff');
    assert.is(readlinkSync(join(t.dir, 'l', b.link)), '../b/diff');
    assert.equal(readdirSync(join(t.dir, 'l')).sort(), [a.link, b.link].sort());
  } finally {
    t.done();
  }
});

test('removes half layers and the leftovers of dead processes, keeps those of live ones', async () => {
  const t = tempDir();
  try {
    const s = await OverlayStore.open(t.dir);
    await s.create('whole');
    mkdirSync(join(t.dir, 'half', 'diff'), { recursive: true }); // no link file
    mkdirSync(join(t.dir, '.tmp-x-999999999_1_abcd', 'diff'), { recursive: true }); // dead owner
    const me = readFileSync('/proc/self/stat', 'utf8')
      .slice(readFileSync('/proc/self/stat', 'utf8').lastIndexOf(')') + 2)
      .split(' ')[19];
    const live = `.tmp-y-${process.pid}_${me}_abcd`;
    mkdirSync(join(t.dir, live));
    const r = await s.repair();
    assert.equal(r.halfLayers, ['half']);
    assert.equal(r.leftovers, ['.tmp-x-999999999_1_abcd']);
    assert.equal(readdirSync(t.dir).sort(), ['.refs', live, 'l', 'whole']);
    assert.equal(await s.list(), ['whole']);
  } finally {
    t.done();
  }
});

test('a child killed with SIGKILL mid-create leaves a store that repairs to whole layers', async () => {
  for (let round = 0; round < 3; round++) {
    const t = tempDir();
    try {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', join(import.meta.dirname, 'fixtures/create-loop.ts'), t.dir],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
      });
      // Let it create some layers, then kill it at an arbitrary point of a create.
      await new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (out.split('\n').length > 20 + round * 7) {
            clearInterval(check);
            resolve();
          }
        }, 5);
      });
      child.kill('SIGKILL');
      await new Promise((r) => child.once('close', r));
      const finished = out.split('\n').filter((l) => l.length > 0);
      const s = await OverlayStore.open(t.dir);
      const layers = await s.list();
      // every reported layer survived; at most the one in flight more
      for (const id of finished) assert.ok(layers.includes(id), `lost ${id}`);
      assert.ok(layers.length <= finished.length + 1);
      // nothing hidden left, every layer whole with a working l/ link and chain
      assert.equal(
        readdirSync(t.dir).filter((n) => n.startsWith('.') && n !== '.refs'),
        [],
      );
      for (const id of layers) {
        const l = await s.layer(id);
        assert.ok(existsSync(l.diff) && existsSync(l.work) && existsSync(l.merged), id);
        assert.is(readlinkSync(join(t.dir, 'l', l.link)), `../${id}/diff`);
        for (const d of await s.lowerDirs(id)) assert.ok(existsSync(d), `${id} → ${d}`);
      }
      assert.is(readdirSync(join(t.dir, 'l')).length, layers.length);
    } finally {
      rmSync(t.dir, { recursive: true, force: true });
    }
  }
});

test.run();
