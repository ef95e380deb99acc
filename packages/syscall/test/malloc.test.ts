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
 * Runs, in a fresh process (so that this one keeps glibc's defaults), 256 mallocs of 64 KiB freed in
 * reverse order, after `mallopt(M_TRIM_THRESHOLD, trim)` when `trim` is given; returns the bytes left
 * free at the top of the main arena afterwards.
 */
function releasableAfterFrees(trim?: number): number {
  const t = tempDir();
  try {
    const script = join(t.dir, 'frees.ts');
    writeFileSync(
      script,
      `import koffi from ${JSON.stringify(KOFFI)};
import { M_TRIM_THRESHOLD, mallocStats, mallopt } from ${JSON.stringify(SRC)};
${trim === undefined ? '' : `if (!mallopt(M_TRIM_THRESHOLD, ${trim})) throw new Error('mallopt refused');`}
const lib = koffi.load('libc.so.6');
const malloc = lib.func('uintptr_t malloc(size_t)');
const free = lib.func('void free(uintptr_t)');
const memset = lib.func('uintptr_t memset(uintptr_t, int, size_t)');
const blocks = [];
for (let i = 0; i < 256; i++) { const p = malloc(64 << 10); memset(p, 1, 64 << 10); blocks.push(p); }
for (const p of blocks.reverse()) free(p);
console.log(JSON.stringify(mallocStats()));
`,
    );
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
      cwd: join(import.meta.dirname, '..'),
      encoding: 'utf8',
    });
    assert.is(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim()).releasable;
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

test('by default glibc gives 16 MiB of freed memory back; with a 64 MiB trim threshold it keeps it', () => {
  const byDefault = releasableAfterFrees();
  const kept = releasableAfterFrees(64 << 20);
  // The default threshold is 128 KiB (it only grows once an mmap()ed block above it is freed).
  assert.ok(byDefault < 1 << 20, `released by default: ${byDefault} bytes left at the top`);
  assert.ok(kept >= 8 << 20, `with the threshold: only ${kept} bytes left at the top`);
});

test('mallopt: false for a value glibc refuses; RangeError for one that is no C int', () => {
  // M_MXFAST (1) takes at most 80 * sizeof(size_t) / 4 bytes.
  assert.is(mallopt(1, 1 << 20), false);
  assert.throws(() => mallopt(M_TRIM_THRESHOLD, 2 ** 31), RangeError);
  assert.throws(() => mallopt(M_TRIM_THRESHOLD, 1.5), RangeError);
});

test.run();
