// The README's example must run and print what its comments say.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const readme = suite('README example');
readme('runs and prints the commented results', () => {
  const text = readFileSync(join(pkg, 'README.md'), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(text)?.[1];
  assert.ok(block, 'README has a ts block');
  const src = pathToFileURL(join(pkg, 'src/index.ts')).href;
  const dir = mkdtempSync(join(tmpdir(), 'ovl-mountopts-readme-'));
  try {
    const file = join(dir, 'example.ts');
    writeFileSync(file, block.replace("'@ovl/mountopts'", `'${src}'`));
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
    delete env.FORCE_COLOR;
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: pkg, encoding: 'utf8', env });
    assert.is(r.status, 0, r.stderr);
    const printed = r.stdout
      .replace(/\x1b\[[0-9;]*m/g, '')
      .trim()
      .split('\n');
    const expected = block
      .split('\n')
      .filter((l) => l.startsWith('console.log('))
      .map((l) => l.split(' // ')[1]!.trim());
    assert.is(printed.length, expected.length, r.stdout);
    expected.forEach((want, i) => {
      const got = printed[i]!;
      if (want.endsWith('…')) assert.ok(got.startsWith(want.slice(0, -1)), `${got} vs ${want}`);
      else assert.is(got, want);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
readme.run();
