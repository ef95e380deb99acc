// Fresh chunks for consumers that keep what they are given (diff()'s output): never the same memory twice.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FreshChunks } from '../src/fresh-chunks.js';
import { diff, diffToFile } from '../src/index.js';
import { build, rmTree, tempDir } from './diff-helpers.js';

const test = suite('fresh chunks');

/** Byte ranges of the chunks' memory, each as [start, end) within its ArrayBuffer. */
function overlaps(chunks: Buffer[]): boolean {
  for (let i = 0; i < chunks.length; i++) {
    for (let j = i + 1; j < chunks.length; j++) {
      const a = chunks[i]!;
      const b = chunks[j]!;
      if (a.buffer !== b.buffer) continue;
      if (a.byteOffset < b.byteOffset + b.length && b.byteOffset < a.byteOffset + a.length) return true;
    }
  }
  return false;
}

test('take: chunks of the right size that never share memory, across slabs', () => {
  const fc = new FreshChunks();
  const chunks = Array.from({ length: 20 }, (_, i) => fc.take(i % 3 === 0 ? 1 << 20 : 300_000 + i));
  for (const [i, c] of chunks.entries()) assert.is(c.length, i % 3 === 0 ? 1 << 20 : 300_000 + i);
  assert.not.ok(overlaps(chunks), 'two chunks share memory');
  for (const [i, c] of chunks.entries()) c.fill(i);
  for (const [i, c] of chunks.entries()) {
    assert.ok(
      c.every((b) => b === i),
      `chunk ${i} was overwritten`,
    );
  }
  assert.is(fc.take(9 << 20).length, 9 << 20, 'a chunk bigger than a slab');
});

test('giveBack: the unused tail of the last chunk is what the next take gets', () => {
  const fc = new FreshChunks();
  const a = fc.take(1 << 20);
  fc.giveBack(1000);
  const b = fc.take(4096);
  assert.is(b.length, 4096);
  if (a.buffer === b.buffer) assert.is(b.byteOffset, a.byteOffset + (1 << 20) - 1000);
  assert.not.ok(overlaps([a.subarray(0, a.length - 1000), b]));
});

test('giveBack after a chunk too big for a slab leaves the slab alone', () => {
  const fc = new FreshChunks();
  const a = fc.take(1 << 20);
  fc.take(9 << 20);
  fc.giveBack(1 << 20);
  const b = fc.take(1 << 20);
  assert.not.ok(overlaps([a, b]), 'the slab chunk was handed out twice');
});

test('diff(): chunks kept by the consumer stay intact — the tar equals what diffToFile writes', async () => {
  const dir = tempDir('fc');
  try {
    const spec: Record<string, string> = {};
    // ~24 MiB of tar: a dozen slabs' worth of chunks, all kept until the end.
    for (let i = 0; i < 96; i++)
      spec[`d${i % 7}/f${i}`] = String.fromCharCode(65 + (i % 26)).repeat(250_000 + i);
    build(dir, spec);
    const kept: Buffer[] = [];
    for await (const chunk of diff({ upper: dir })) kept.push(chunk as Buffer);
    assert.not.ok(overlaps(kept), 'two chunks share memory');
    const out = join(dir, '..', `fc-${process.pid}.tar`);
    try {
      await diffToFile({ upper: dir }, out);
      assert.ok(Buffer.concat(kept).equals(readFileSync(out)), 'the streamed tar differs from the file');
    } finally {
      rmSync(out, { force: true });
    }
  } finally {
    rmTree(dir);
  }
});

test.run();
