#!/usr/bin/env node
// Runs every bench/*.ts of the package it is started in, one after another, with tsx.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? 'bench';
const only = process.argv[3];
const files = existsSync(dir) ? readdirSync(dir).filter((f) => /\.bench\.(ts|mjs)$/.test(f)) : [];
let status = 0;
for (const file of files.sort()) {
  if (only && !file.includes(only)) continue;
  console.log(`\n# ${join(dir, file)}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(dir, file)], { stdio: 'inherit' });
  status ||= r.status ?? 1;
}
process.exit(status);
