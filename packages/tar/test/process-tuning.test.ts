import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const test = suite('tuneProcess');
const SCRIPT = join(import.meta.dirname, 'fixtures/tuned-process.ts');

/** The fixture's report from a fresh process (this one keeps its defaults), tuned or not. */
function runTuned(tune: boolean): { first: unknown; same: boolean; releasable: number; tree: string[] } {
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

test('sets the malloc thresholds (freed memory stays), the V8 flag on small machines, once', () => {
  const tuned = runTuned(true);
  const plain = runTuned(false);
  assert.equal(tuned.first, {
    mallocThresholds: true,
    v8Flags: availableParallelism() <= 2 ? ['--no-parallel-scavenge'] : [],
  });
  assert.ok(tuned.same, 'a second call returns the first result');
  // 12 MiB freed. glibc's default trim threshold is 128 KiB, raised by glibc itself to twice the
  // largest mmap()ed block freed so far (~1 MiB in this process); the tuned one, 16 MiB, keeps it all.
  assert.ok(plain.releasable < 4 << 20, `untuned: ${plain.releasable} bytes kept`);
  assert.ok(tuned.releasable >= 8 << 20, `tuned: only ${tuned.releasable} bytes kept`);
  // And a layer applies to the same tree.
  assert.is(tuned.tree.length, 300 + 7);
  assert.equal(tuned.tree, plain.tree);
  assert.ok(tuned.tree.includes('d3/f10=content 10'));
});

test.run();
