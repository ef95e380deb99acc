#!/usr/bin/env node
// Runs one package's uvu suite with TypeScript loaded by tsx, echoes its output, and records the
// totals uvu prints so that scripts/test-all.mjs can add them up over all packages.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
// uvu's exports map hides bin.js and package.json; its entry lives in dist/, one level below the root.
const uvuBin = join(dirname(require.resolve('uvu')), '..', 'bin.js');
const args = process.argv.slice(2);
const dir = args[0] ?? 'test';
const pattern = args[1] ?? '\\.test\\.(ts|mjs|cjs)$';

const child = spawn(process.execPath, ['--import', 'tsx', uvuBin, dir, pattern], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
});
let out = '';
child.stdout.on('data', (chunk) => {
  out += chunk;
  process.stdout.write(chunk);
});
child.on('close', (code, signal) => {
  // The last summary is uvu's own: a failing test's message may quote the summary of a nested run.
  const num = (label) => Number([...out.matchAll(new RegExp(`${label}:\\s+(\\d+)`, 'g'))].at(-1)?.[1] ?? 0);
  const total = num('Total');
  const passed = num('Passed');
  const skipped = num('Skipped');
  // A crash before uvu's summary (syntax error, unhandled rejection) counts as one failure.
  const failed = total - passed + (code !== 0 && total === passed ? 1 : 0);
  const resultsDir = process.env.OVL_TEST_RESULTS;
  if (resultsDir) {
    mkdirSync(resultsDir, { recursive: true });
    const name = JSON.parse(readFileSync('package.json', 'utf8')).name.replace(/[@/]/g, '_');
    writeFileSync(join(resultsDir, `${name}.json`), JSON.stringify({ total, passed, failed, skipped }));
  }
  process.exit(signal ? 1 : (code ?? 1));
});
