#!/usr/bin/env node
// The whole suite: build, typecheck, lint, then every package's tests one after another (mount tests
// share the kernel's mount table, so they do not run in parallel). Ends with one line
// "N passed, N failed" summed over all packages.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const run = (cmd, args, env = process.env) => spawnSync(cmd, args, { stdio: 'inherit', env }).status ?? 1;
const turbo = ['exec', 'turbo', 'run'];

let broken = 0;
for (const [label, args] of [
  ['build', [...turbo, 'build']],
  ['typecheck', [...turbo, 'typecheck']],
  ['lint', ['exec', 'biome', 'ci', '.']],
]) {
  console.log(`\n=== ${label} ===`);
  if (run('pnpm', args) !== 0) {
    console.log(`${label} failed`);
    broken++;
  }
}

const resultsDir = mkdtempSync(join(tmpdir(), 'ovl-test-results-'));
console.log('\n=== test ===');
const filter = process.argv.slice(2).flatMap((f) => ['--filter', f]);
const testStatus = run('pnpm', [...turbo, 'test', '--concurrency=1', '--continue', ...filter], {
  ...process.env,
  OVL_TEST_RESULTS: resultsDir,
});

let passed = 0;
let failed = broken;
let skipped = 0;
const files = existsSync(resultsDir) ? readdirSync(resultsDir) : [];
for (const file of files) {
  const r = JSON.parse(readFileSync(join(resultsDir, file), 'utf8'));
  console.log(`  ${file.replace(/\.json$/, '').padEnd(28)} ${r.passed} passed, ${r.failed} failed`);
  passed += r.passed;
  failed += r.failed;
  skipped += r.skipped;
}
rmSync(resultsDir, { recursive: true, force: true });
if (testStatus !== 0 && failed === 0) failed = 1; // turbo failed outside any suite's count
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed === 0 ? 0 : 1);
