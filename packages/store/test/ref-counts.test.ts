import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RefCounts, withFileLock } from '../src/index.js';
import { tempDir } from './helpers.js';

const test = suite('RefCounts and file locks');

test('first acquire and last release run their hooks once', async () => {
  const t = tempDir();
  try {
    const refs = new RefCounts(t.dir);
    const events: string[] = [];
    assert.is(await refs.acquire('x', async () => void events.push('mount')), 1);
    assert.is(await refs.acquire('x', async () => void events.push('mount')), 2);
    assert.is(await refs.release('x', async () => void events.push('unmount')), 1);
    assert.is(await refs.release('x', async () => void events.push('unmount')), 0);
    assert.equal(events, ['mount', 'unmount']);
    assert.is(await refs.count('x'), 0);
  } finally {
    t.done();
  }
});

test('a failing first hook takes no reference', async () => {
  const t = tempDir();
  try {
    const refs = new RefCounts(t.dir);
    await refs
      .acquire('x', async () => {
        throw new Error('mount failed');
      })
      .catch(() => {});
    assert.is(await refs.count('x'), 0);
  } finally {
    t.done();
  }
});

test('the lock serialises critical sections', async () => {
  const t = tempDir();
  try {
    const order: string[] = [];
    const section = (n: string) =>
      withFileLock(join(t.dir, 'l.lock'), async () => {
        order.push(`${n}<`);
        await new Promise((r) => setTimeout(r, 20));
        order.push(`>${n}`);
      });
    await Promise.all([section('a'), section('b'), section('c')]);
    for (let i = 0; i < order.length; i += 2) assert.is(order[i]?.slice(0, 1), order[i + 1]?.slice(1));
  } finally {
    t.done();
  }
});

test('references are shared across processes and end with a killed process', async () => {
  const t = tempDir();
  try {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'fixtures/hold-ref.ts'), t.dir, 'x'],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('held')) resolve();
      }),
    );
    assert.ok(out.includes('first'));
    const refs = new RefCounts(t.dir);
    assert.is(await refs.count('x'), 1);
    const events: string[] = [];
    assert.is(await refs.acquire('x', async () => void events.push('mount')), 2);
    assert.equal(events, []); // the child's reference means it is already mounted
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    assert.is(await refs.count('x'), 1); // the dead child's reference is gone
    assert.is(await refs.release('x', async () => void events.push('unmount')), 0);
    assert.equal(events, ['unmount']);
  } finally {
    t.done();
  }
});

test.run();
