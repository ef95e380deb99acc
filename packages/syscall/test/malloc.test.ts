import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { M_TRIM_THRESHOLD, mallocStats, mallopt } from '../src/index.js';
import { tempDir } from './helpers.js';

const test = suite('mallopt and mallocStats (glibc)');
const SRC = join(import.meta.dirname, '../src/index.js');
// The script lives in a temp dir, out of reach of this package's node_modules.
const KOFFI = createRequire(import.meta.url).resolve('koffi');

/**
 * Runs `steps` (JavaScript, with `mallopt`, `M_*`, `mallocStats`, `mallocTrim`, `malloc`, `free` and
 * `touch(p, n)`, `sbrk` in scope) in a fresh process, so that this one keeps glibc's defaults, on a heap trimmed
 * first under a 128 KiB trim threshold; returns what the steps `report`ed.
 */
function inFreshProcess(steps: string): Record<string, number> {
  const t = tempDir();
  try {
    const script = join(t.dir, 'steps.ts');
    writeFileSync(
      script,
      `import koffi from ${JSON.stringify(KOFFI)};
import { M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, mallocStats, mallocTrim, mallopt } from ${JSON.stringify(SRC)};
const lib = koffi.load('libc.so.6');
const malloc = lib.func('uintptr_t malloc(size_t)');
const free = lib.func('void free(uintptr_t)');
const memset = lib.func('uintptr_t memset(uintptr_t, int, size_t)');
const touch = (p, n) => memset(p, 1, n);
const sbrk = lib.func('uintptr_t sbrk(intptr_t)');
const out = {};
const report = (k, v) => { out[k] = v; };
// glibc's own trim threshold moves with what the process freed before: start from a trimmed heap.
if (!mallopt(M_TRIM_THRESHOLD, 128 << 10)) throw new Error('refused');
mallocTrim(0);
${steps}
console.log(JSON.stringify(out));
`,
    );
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
      cwd: join(import.meta.dirname, '..'),
      encoding: 'utf8',
    });
    assert.is(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  } finally {
    t.remove();
  }
}

test('mallocStats: the main arena holds at least what is in use and free in it', () => {
  const s = mallocStats();
  for (const v of Object.values(s)) assert.ok(Number.isSafeInteger(v) && v >= 0, `${v}`);
  assert.ok(s.arena > 0);
  assert.ok(s.inUse + s.free <= s.arena + s.mmapped, JSON.stringify(s));
  assert.ok(s.releasable <= s.free, JSON.stringify(s));
});

test('M_MMAP_THRESHOLD decides whether a block is mmap()ed (mallocStats sees it)', () => {
  // glibc mmap()s a block above the threshold only when the heap's top cannot serve it: the heap was
  // just trimmed (a 512 KiB block came from an untrimmed top in the test VM).
  const r = inFreshProcess(`
    if (!mallopt(M_MMAP_THRESHOLD, 1 << 20)) throw new Error('refused');
    let before = mallocStats().mmapped;
    let p = malloc(16 << 20); touch(p, 16 << 20);
    report('low', mallocStats().mmapped - before);
    free(p);
    if (!mallopt(M_MMAP_THRESHOLD, 32 << 20)) throw new Error('refused');
    before = mallocStats().mmapped;
    p = malloc(16 << 20); touch(p, 16 << 20);
    report('high', mallocStats().mmapped - before);
    free(p);
  `);
  assert.ok(r.low! >= 16 << 20, `16 MiB above a 1 MiB threshold: ${r.low} bytes more mmap()ed`);
  assert.is(r.high, 0, 'a 16 MiB block under a 32 MiB threshold comes from the heap');
});

test('M_TRIM_THRESHOLD: a freed 24 MiB block at the top of the heap is kept under a 64 MiB threshold', () => {
  // One block bigger than any hole a fresh process's heap has, so it comes from the top; the mmap
  // threshold is raised first so that it comes from the heap at all. Both trim thresholds are set here:
  // glibc's own moves with what the process freed before.
  const steps = (trim: number) => `
    if (!mallopt(M_MMAP_THRESHOLD, 32 << 20)) throw new Error('refused');
    if (!mallopt(M_TRIM_THRESHOLD, ${trim})) throw new Error('refused');
    const p = malloc(24 << 20); touch(p, 24 << 20);
    const brk = sbrk(0);
    report('atBrk', p < brk && p + (24 << 20) <= brk ? 1 : 0);
    free(p);
    report('releasable', mallocStats().releasable);
    mallocTrim(0);
    report('afterTrim', mallocStats().releasable);
  `;
  const trimmed = inFreshProcess(steps(1 << 20));
  const kept = inFreshProcess(steps(64 << 20));
  assert.ok(kept.releasable! >= 24 << 20, `a 64 MiB threshold kept only ${kept.releasable} bytes`);
  // Where the heap cannot grow at the program break (a mapping of V8's sits right after it: one run in
  // ten or so here), glibc takes the block from an mmap() of its own that it counts as heap but can
  // never trim; then only the kept side says anything.
  if (trimmed.atBrk)
    assert.ok(trimmed.releasable! < 8 << 20, `a 1 MiB threshold left ${trimmed.releasable} bytes`);
  else
    console.log(
      '  note: the heap could not grow at the program break (1 MiB threshold run); trimming not checked',
    );
  if (kept.atBrk)
    assert.ok(kept.afterTrim! < 1 << 20, `mallocTrim(0) left ${kept.afterTrim} bytes at the top`);
  else
    console.log('  note: the heap could not grow at the program break (64 MiB run); mallocTrim not checked');
});

test('mallopt: false for a value glibc refuses; RangeError for one that is no C int', () => {
  // M_MXFAST (1) takes at most 80 * sizeof(size_t) / 4 bytes.
  assert.is(mallopt(1, 1 << 20), false);
  assert.throws(() => mallopt(M_TRIM_THRESHOLD, 2 ** 31), RangeError);
  assert.throws(() => mallopt(M_TRIM_THRESHOLD, 1.5), RangeError);
});

test.run();
