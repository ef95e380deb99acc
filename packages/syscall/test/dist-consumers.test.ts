// The built package from a plain ESM and a plain CJS consumer (no tsx): the helper script and the
// mount thread must be found next to dist/index.js and dist/index.cjs.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isRoot, tempDir } from './helpers.js';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const consumer = (load: string) => `
const { mkdirSync, writeFileSync, readdirSync } = require('node:fs');
const { join } = require('node:path');
(async () => {
  const m = ${load};
  const base = process.argv[2];
  for (const d of ['a', 'b', 'u', 'w', 'm']) mkdirSync(join(base, d));
  writeFileSync(join(base, 'a', 'x'), 'a');
  writeFileSync(join(base, 'b', 'y'), 'b');
  const cwd = process.cwd();
  const out = [];
  for (const isolation of ['thread', 'process']) {
    await m.runPlan({ strategy: 'link-relative', pageSize: 4096, dataBytes: 20, steps: [{ kind: 'mount',
      source: 'overlay', target: 'm', fstype: 'overlay', flags: 0, data: 'lowerdir=a:b,upperdir=u,workdir=w', cwd: base }] },
      { isolation });
    out.push(isolation + ':' + readdirSync(join(base, 'm')).sort().join(','));
    m.umount2(join(base, 'm'));
  }
  out.push('cwd:' + (process.cwd() === cwd));
  console.log(out.join(' '));
})().catch((e) => { console.error(e); process.exit(1); });
`;

const test = suite('dist consumers');
for (const [kind, file, load] of [
  ['ESM', 'consumer.mjs', `await import(${JSON.stringify(join(dist, 'index.js'))})`],
  ['CJS', 'consumer.cjs', `require(${JSON.stringify(join(dist, 'index.cjs'))})`],
] as const) {
  test(`${kind}: runPlan with a cwd step, on the mount thread and in a child`, () => {
    if (!isRoot) return console.log('  skip: mount needs root');
    if (!existsSync(join(dist, 'index.js'))) return console.log('  skip: dist not built (pnpm build)');
    const t = tempDir();
    try {
      const script = join(t.dir, file);
      const body =
        kind === 'ESM'
          ? `import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);\n${consumer(load)}`
          : consumer(load);
      writeFileSync(script, body);
      mkdirSync(join(t.dir, 'work'));
      const r = spawnSync(process.execPath, [script, join(t.dir, 'work')], { encoding: 'utf8', cwd: '/' });
      assert.is(r.status, 0, r.stderr);
      assert.is(r.stdout.trim(), 'thread:x,y process:x,y cwd:true');
    } finally {
      t.remove();
    }
  });
}
test.run();
