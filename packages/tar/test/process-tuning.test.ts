import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const test = suite('tuneProcess');
const SCRIPT = join(import.meta.dirname, 'fixtures/tuned-process.ts');

/** The fixture's report from a fresh process (this one keeps its defaults), tuned or not. */
function runTuned(tune: boolean): {
  first: unknown;
  same: boolean;
  helperNice: number[];
  topAtStart: number;
  mmapped: number;
  releasable: number;
  tree: string[];
} {
  const dir = mkdtempSync(join(tmpdir(), 'ovl-tune-'));
  try {
    const args = ['--import', 'tsx', SCRIPT, join(dir, 'tree'), ...(tune ? ['tune'] : [])];
    const r = spawnSync(process.execPath, args, { cwd: join(import.meta.dirname, '..'), encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("sets the malloc thresholds (freed memory stays), the V8 flag and the helpers' nice on small machines, once", () => {
  const tuned = runTuned(true);
  const plain = runTuned(false);
  const small = availableParallelism() <= 2;
  assert.equal(tuned.first, {
    mallocThresholds: true,
    v8Flags: small ? ['--no-parallel-scavenge'] : [],
    helperThreads: small ? tuned.helperNice.length : 0,
  });
  // V8's helpers run beside the main thread from the start; on a small machine each gets nice 10.
  assert.ok(plain.helperNice.length > 0, 'Node runs threads beside the main one');
  assert.ok(
    plain.helperNice.every((n) => n === 0),
    `untuned: ${plain.helperNice}`,
  );
  assert.ok(
    tuned.helperNice.every((n) => n === (small ? 10 : 0)),
    `tuned: ${tuned.helperNice}`,
  );
  assert.ok(tuned.same, 'a second call returns the first result');
  // glibc's default mmap threshold (128 KiB, set by the fixture first) gives a 6 MiB block its own
  // mapping, returned to the kernel on free; the tuned one (8 MiB) takes it from the heap, and the tuned
  // trim threshold (16 MiB) keeps it there.
  // (Unless the untuned process's heap top could not be trimmed to start with: then the block may come
  // from there, and the untuned side says nothing.)
  if (plain.topAtStart < 1 << 20) {
    assert.ok(plain.mmapped >= 6 << 20, `untuned: ${plain.mmapped} bytes more mmap()ed`);
    assert.ok(plain.releasable < 1 << 20, `untuned: ${plain.releasable} bytes kept after the free`);
  } else
    console.log(
      `  note: the untuned heap kept ${plain.topAtStart} bytes at its top; untuned side not checked`,
    );
  assert.is(tuned.mmapped, 0, 'tuned: the 6 MiB block comes from the heap');
  assert.ok(tuned.releasable >= 6 << 20, `tuned: only ${tuned.releasable} bytes kept after the free`);
  // And a layer applies to the same tree.
  assert.is(tuned.tree.length, 300 + 7);
  assert.equal(tuned.tree, plain.tree);
  assert.ok(tuned.tree.includes('d3/f10=content 10'));
});

test.run();
