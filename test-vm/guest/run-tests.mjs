#!/usr/bin/env node
// Runs inside the VM, from the project shared read-only over 9p, each suite directory given (e.g.
// packages/syscall) one after another with uvu, as the host does:
//   --js <root>  the host's transpiled mirror <root>/<dir>/test/*.test.js with plain node (fast under TCG)
//   otherwise    scripts/uvu.mjs, i.e. test/*.test.ts under tsx, exactly the host's runner
// Each test file runs in its own process under a time limit (--file-timeout, and never past --budget
// seconds after start), so one hung or far too slow file under TCG costs its own result, not the
// whole run: it is counted failed and named, and the files after it still run. At the end it prints
// one machine-readable line for the host:
//   OVL-VM-RESULT {"passed":N,"failed":N,"skipped":N,"suites":[...]}
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '../..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    js: { type: 'string' },
    'file-timeout': { type: 'string', default: '240' },
    budget: { type: 'string', default: '100000' },
  },
});
const startedAt = Date.now();
const left = () => Number(values.budget) - (Date.now() - startedAt) / 1000;
const uvuBin = join(dirname(createRequire(join(root, 'package.json')).resolve('uvu')), '..', 'bin.js');

function run(args, cwd, seconds) {
  return new Promise((done) => {
    const child = spawn(process.execPath, args, {
      cwd,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    });
    let out = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, seconds * 1000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      process.stdout.write(chunk);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ out, code: signal ? 1 : code, timedOut });
    });
  });
}

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Runs one test file; returns its counts. */
async function runFile(cwd, file) {
  const limit = Math.min(Number(values['file-timeout']), left());
  if (limit < 5) {
    console.log(`OVL-VM-FILE ${file}: NOT RUN, the time budget is spent`);
    return { passed: 0, failed: 1, skipped: 0, late: file };
  }
  const pattern = `^${escapeRe(file)}$`;
  const args = values.js ? [uvuBin, 'test', pattern] : [join(root, 'scripts/uvu.mjs'), 'test', pattern];
  const started = Date.now();
  const { out, code, timedOut } = await run(args, cwd, limit);
  const num = (label) => Number(out.match(new RegExp(`${label}:\\s+(\\d+)`))?.[1] ?? 0);
  const total = num('Total');
  const passed = num('Passed');
  const skipped = num('Skipped');
  // as scripts/uvu.mjs counts: a crash (or kill) before uvu's summary is one failure
  const failed = total - passed + (code !== 0 && total === passed ? 1 : 0);
  const seconds = (Date.now() - started) / 1000;
  const how = timedOut ? `TIMED OUT after ${limit.toFixed(0)} s` : `${passed} passed, ${failed} failed`;
  console.log(`OVL-VM-FILE ${file}: ${how} (${seconds.toFixed(1)} s)`);
  return { passed, failed, skipped, late: timedOut ? file : undefined };
}

const suites = [];
for (const dir of positionals) {
  const cwd = values.js ? join(values.js, dir) : join(root, dir);
  const testDir = join(cwd, 'test');
  const pattern = values.js ? /\.test\.(js|mjs|cjs)$/ : /\.test\.(ts|mjs|cjs)$/;
  const files = existsSync(testDir) ? readdirSync(testDir).filter((f) => pattern.test(f)) : [];
  if (files.length === 0) {
    console.log(`OVL-VM-SUITE ${dir}: no test files yet, nothing to run`);
    suites.push({ dir, missing: true, passed: 0, failed: 0, skipped: 0, seconds: 0 });
    continue;
  }
  console.log(`OVL-VM-SUITE ${dir}: ${files.length} test files`);
  const started = Date.now();
  const counts = { passed: 0, failed: 0, skipped: 0, late: [] };
  for (const file of files.sort()) {
    const r = await runFile(cwd, file);
    counts.passed += r.passed;
    counts.failed += r.failed;
    counts.skipped += r.skipped;
    if (r.late) counts.late.push(r.late);
  }
  const seconds = (Date.now() - started) / 1000;
  console.log(
    `OVL-VM-SUITE ${dir}: ${counts.passed} passed, ${counts.failed} failed in ${seconds.toFixed(1)} s`,
  );
  suites.push({ dir, ...counts, seconds });
}
const sum = (key) => suites.reduce((n, s) => n + s[key], 0);
const summary = { passed: sum('passed'), failed: sum('failed'), skipped: sum('skipped'), suites };
console.log(`OVL-VM-RESULT ${JSON.stringify(summary)}`);
