// The README's first example must run as written (its import of @ovl/aufs pointed at the sources).
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');

test('the README example runs and prints the seed mount data', () => {
  const readme = readFileSync(join(pkg, 'README.md'), 'utf8');
  const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(code, 'a ts block');
  const file = join(pkg, `.readme-example-${process.pid}.ts`);
  writeFileSync(file, code!.replace("from '@ovl/aufs'", "from './src/index.js'"));
  try {
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: pkg, encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    // the runner may force colours on; compare the plain text
    r.stdout = r.stdout.replace(/\x1b\[[0-9;]*m/g, '');
    assert.match(r.stdout, /mount \[\n?\s*'none',/, r.stdout);
    assert.match(r.stdout, /diff\/app=rw:.*diff\/base=ro\+wh,dio,xino=\/dev\/shm\/aufs\.xino,context=/s);
    assert.match(r.stdout, /umount2 \[ '.*\/mnt\/app', 0 \]/);
    assert.match(r.stdout, /path: '\/hello'|Root Dir/);
  } finally {
    rmSync(file, { force: true });
  }
});

test.run();
