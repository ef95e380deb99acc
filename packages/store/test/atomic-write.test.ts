import { readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { atomicSymlink, atomicWriteFile } from '../src/index.js';
import { tempDir } from './helpers.js';

const test = suite('atomicWriteFile');

test('writes new content, replaces old content, leaves no temp file', async () => {
  const t = tempDir();
  try {
    const f = join(t.dir, 'lower');
    await atomicWriteFile(f, 'l/A:l/B');
    assert.is(readFileSync(f, 'utf8'), 'l/A:l/B');
    writeFileSync(join(t.dir, 'other'), 'x');
    await atomicWriteFile(f, Buffer.from('l/C'), 0o600);
    assert.is(readFileSync(f, 'utf8'), 'l/C');
    assert.is(statSync(f).mode & 0o777, 0o600);
    assert.equal(readdirSync(t.dir).sort(), ['lower', 'other']);
  } finally {
    t.done();
  }
});

test('fails on a missing directory without creating anything', async () => {
  const t = tempDir();
  try {
    let failed = false;
    await atomicWriteFile(join(t.dir, 'nope', 'f'), 'x').catch(() => {
      failed = true;
    });
    assert.ok(failed);
    assert.equal(readdirSync(t.dir), []);
  } finally {
    t.done();
  }
});

test('atomicSymlink replaces a symlink in place', async () => {
  const t = tempDir();
  try {
    const l = join(t.dir, 'LINK');
    await atomicSymlink('../a/diff', l);
    await atomicSymlink('../b/diff', l);
    assert.is(readlinkSync(l), '../b/diff');
    assert.equal(readdirSync(t.dir), ['LINK']);
  } finally {
    t.done();
  }
});

test.run();
