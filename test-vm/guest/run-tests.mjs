#!/usr/bin/env node
// Runs inside the VM, from the project shared read-only over 9p, the test files of each suite
// directory given (e.g. packages/syscall) with uvu, as the host does:
//   --js <root>  the host's transpiled mirror <root>/<dir>/test/*.test.js with plain node (fast under TCG)
//   otherwise    scripts/uvu.mjs, i.e. test/*.test.ts under tsx, exactly the host's runner
// Each test file runs in its own process under a time limit (--file-timeout, and never past --budget
// seconds after start), so one hung or far too slow file costs its own result, not the whole run.
// --lanes N runs N files at a time (every test uses its own temp dirs and mounts; under TCG each vCPU
// is a host thread, so two lanes nearly halve the wall time on an idle 2-core host). A file's output is
// printed whole when it ends. At the end one machine-readable line for the host:
//   OVL-VM-RESULT {"passed":N,"failed":N,"skipped":N,"suites":[{dir,passed,failed,skipped,timedOut,notRun}]}
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '../..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    js: { type: 'string' },
    'file-timeout': { type: 'string', default: '360' },
    budget: { type: 'string', default: '100000' },
    lanes: { type: 'string', default: '1' },
  },
});
const startedAt = Date.now();
const left = () => Number(values.budget) - (Date.now() - startedAt) / 1000;
const uvuBin = join(dirname(createRequire(join(root, 'package.json')).resolve('uvu')), '..', 'bin.js');
const pattern = values.js ? /\.test\.(js|mjs|cjs)$/ : /\.test\.(ts|mjs|cjs)$/;

function run(args, cwd, seconds) {
  return new Promise((done) => {
    const child = spawn(process.execPath, args, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    });
    let out = '';
    let err = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, seconds * 1000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      err += chunk;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ out, err, code: signal ? 1 : code, timedOut });
    });
  });
}

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * After a failed file, the kernel's word on processes it killed or that crashed (the console shows
 * only critical messages): a test process that vanished mid-test, as processes.test did twice under
 * TCG with uvu's "Exiting early", leaves nothing else to go on.
 */
let kernelLinesSeen = 0;
function kernelNotes(dir, file) {
  const r = spawnSync('dmesg', [], { encoding: 'utf8' });
  if (r.status !== 0 || !r.stdout) return;
  const lines = r.stdout.split('\n');
  const fresh = lines.slice(kernelLinesSeen);
  kernelLinesSeen = lines.length;
  for (const line of fresh) {
    if (
      /out of memory|oom|killed process|segfault|traps:|general protection|blocked for more than/i.test(line)
    )
      console.log(`OVL-VM-KERNEL ${dir}/test/${file}: ${line}`);
  }
}

/** Runs one test file; returns its counts. */
async function runFile({ dir, cwd, file }) {
  const limit = Math.min(Number(values['file-timeout']), left());
  if (limit < 5) {
    console.log(`OVL-VM-FILE ${dir}/test/${file}: NOT RUN, the time budget is spent`);
    return { passed: 0, failed: 0, skipped: 0, notRun: true };
  }
  const only = `^${escapeRe(file)}$`;
  const args = values.js ? [uvuBin, 'test', only] : [join(root, 'scripts/uvu.mjs'), 'test', only];
  const started = Date.now();
  const { out, err, code, timedOut } = await run(args, cwd, limit);
  const num = (label) => Number(out.match(new RegExp(`${label}:\\s+(\\d+)`))?.[1] ?? 0);
  const total = num('Total');
  const passed = num('Passed');
  const skipped = num('Skipped');
  // as scripts/uvu.mjs counts: a crash (or kill) before uvu's summary is one failure
  const failed = total - passed + (code !== 0 && total === passed ? 1 : 0);
  const seconds = (Date.now() - started) / 1000;
  const how = timedOut ? `TIMED OUT after ${limit.toFixed(0)} s` : `${passed} passed, ${failed} failed`;
  process.stdout.write(`${out}${err}`);
  if (failed > 0) kernelNotes(dir, file);
  console.log(`OVL-VM-FILE ${dir}/test/${file}: ${how} (${seconds.toFixed(1)} s)`);
  return { passed, failed, skipped, timedOut };
}

const suites = [];
const tasks = [];
for (const dir of positionals) {
  const cwd = values.js ? join(values.js, dir) : join(root, dir);
  const testDir = join(cwd, 'test');
  const files = existsSync(testDir) ? readdirSync(testDir).filter((f) => pattern.test(f)) : [];
  const suite = { dir, files: files.length, passed: 0, failed: 0, skipped: 0, timedOut: [], notRun: [] };
  suites.push(suite);
  console.log(`OVL-VM-SUITE ${dir}: ${files.length ? `${files.length} test files` : 'no test files yet'}`);
  for (const file of files.sort()) tasks.push({ dir, cwd, file, suite });
}

async function lane() {
  for (let task = tasks.shift(); task; task = tasks.shift()) {
    const r = await runFile(task);
    const s = task.suite;
    s.passed += r.passed;
    s.failed += r.failed;
    s.skipped += r.skipped;
    if (r.timedOut) s.timedOut.push(task.file);
    if (r.notRun) s.notRun.push(task.file);
  }
}
await Promise.all(Array.from({ length: Math.max(1, Number(values.lanes)) }, lane));

const sum = (key) => suites.reduce((n, s) => n + s[key], 0);
const summary = { passed: sum('passed'), failed: sum('failed'), skipped: sum('skipped'), suites };
summary.seconds = (Date.now() - startedAt) / 1000;
console.log(`OVL-VM-RESULT ${JSON.stringify(summary)}`);
