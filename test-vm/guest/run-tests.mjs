#!/usr/bin/env node
// Runs inside the VM, from the project shared read-only over 9p. For each suite directory given
// (e.g. packages/syscall) it runs the same runner as the host (scripts/uvu.mjs: uvu over test/*.test.ts
// with tsx), one after another, then prints one machine-readable line for the host:
//   OVL-VM-RESULT {"passed":N,"failed":N,"skipped":N,"suites":[...]}
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
const suites = [];
for (const dir of process.argv.slice(2)) {
  const testDir = join(root, dir, 'test');
  const files = existsSync(testDir)
    ? readdirSync(testDir).filter((f) => /\.test\.(ts|mjs|cjs)$/.test(f))
    : [];
  if (files.length === 0) {
    console.log(`OVL-VM-SUITE ${dir}: no test files yet, nothing to run`);
    suites.push({ dir, missing: true, passed: 0, failed: 0, skipped: 0, seconds: 0 });
    continue;
  }
  console.log(`OVL-VM-SUITE ${dir}: ${files.length} test files`);
  const results = mkdtempSync(join(tmpdir(), 'ovl-vm-results-'));
  const started = Date.now();
  const run = spawnSync(process.execPath, [join(root, 'scripts/uvu.mjs'), 'test'], {
    cwd: join(root, dir),
    stdio: 'inherit',
    env: { ...process.env, OVL_TEST_RESULTS: results },
  });
  const seconds = (Date.now() - started) / 1000;
  const written = readdirSync(results);
  const counts = written.length
    ? JSON.parse(readFileSync(join(results, written[0]), 'utf8'))
    : { passed: 0, failed: 1, skipped: 0 }; // the runner died before writing its totals
  if (run.status !== 0 && counts.failed === 0) counts.failed = 1;
  console.log(
    `OVL-VM-SUITE ${dir}: ${counts.passed} passed, ${counts.failed} failed in ${seconds.toFixed(1)} s`,
  );
  suites.push({ dir, passed: counts.passed, failed: counts.failed, skipped: counts.skipped ?? 0, seconds });
}
const sum = (key) => suites.reduce((n, s) => n + s[key], 0);
const summary = { passed: sum('passed'), failed: sum('failed'), skipped: sum('skipped'), suites };
console.log(`OVL-VM-RESULT ${JSON.stringify(summary)}`);
