// The README's example, run as a user would (against the built package), so it cannot rot.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isRoot } from './helpers.js';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const test = suite('README example');
test('mounts a 2-layer overlay and prints its mountinfo record', () => {
  if (!isRoot) return console.log('  skip: the example mounts, which needs root');
  if (!existsSync(`${pkg}/dist/index.js`)) return console.log('  skip: dist not built (pnpm build)');
  const readme = readFileSync(`${pkg}/README.md`, 'utf8');
  const code = /## Example[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(code, 'README has a js block under ## Example');
  // Evaluated from the package directory, '@ovl/syscall' resolves to this package's dist.
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code!], { cwd: pkg, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const [first, second] = r.stdout.trim().split('\n');
  assert.is(first, 'strategy: absolute | merged: a.txt b.txt');
  assert.match(second ?? '', /^overlay overlay rw,lowerdir=\/.*\/top:\/.*\/bottom,upperdir=/);
});
test.run();
