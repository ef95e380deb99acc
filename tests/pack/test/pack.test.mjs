// Every package must be usable alone, from the registry tarball a user would get: pack each one,
// install the tarballs into an empty directory outside the workspace, import each from ESM and CJS,
// and check that `pnpm publish --dry-run` accepts it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const root = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../..');
const packagesDir = join(root, 'packages');
const packages = readdirSync(packagesDir)
  .map((dir) => ({
    dir: join(packagesDir, dir),
    manifest: JSON.parse(readFileSync(join(packagesDir, dir, 'package.json'), 'utf8')),
  }))
  .filter((p) => !p.manifest.private);

const Pack = suite('pack');
let work;
const tarballs = {};

Pack.before(() => {
  work = mkdtempSync(join(tmpdir(), 'ovl-pack-'));
  const dest = join(work, 'tarballs');
  for (const p of packages) {
    const out = execFileSync('pnpm', ['pack', '--pack-destination', dest], { cwd: p.dir, encoding: 'utf8' });
    const file = out.trim().split('\n').pop().trim();
    tarballs[p.manifest.name] = file.startsWith('/') ? file : join(dest, file);
  }
});
Pack.after(() => rmSync(work, { recursive: true, force: true }));

Pack('every tarball holds dist, README and a manifest without workspace: ranges', () => {
  for (const p of packages) {
    const list = execFileSync('tar', ['-tzf', tarballs[p.manifest.name]], { encoding: 'utf8' });
    assert.ok(list.includes('package/README.md'), `${p.manifest.name} ships its README`);
    assert.ok(list.includes('package/dist/index.js'), `${p.manifest.name} ships dist/index.js`);
    assert.ok(list.includes('package/dist/index.cjs'), `${p.manifest.name} ships dist/index.cjs`);
    assert.ok(list.includes('package/dist/index.d.ts'), `${p.manifest.name} ships its types`);
    const manifest = execFileSync('tar', ['-xzOf', tarballs[p.manifest.name], 'package/package.json'], {
      encoding: 'utf8',
    });
    assert.not.match(manifest, /workspace:/, `${p.manifest.name}'s packed manifest has no workspace: range`);
  }
});

Pack('installed outside the workspace, each package imports from ESM and from CJS', () => {
  const app = join(work, 'app');
  const deps = Object.fromEntries(Object.entries(tarballs).map(([name, file]) => [name, `file:${file}`]));
  execFileSync('mkdir', ['-p', app]);
  // overrides make the packages' own dependencies on each other resolve to the tarballs too.
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'app', private: true, dependencies: deps, overrides: deps }),
  );
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: app,
    stdio: 'pipe',
  });
  // The children print with process.stdout.write: under FORCE_COLOR console.log colours a number.
  for (const name of Object.keys(tarballs)) {
    const esm = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(name)}); process.stdout.write(String(Object.keys(m).length))`,
      ],
      { cwd: app, encoding: 'utf8' },
    );
    assert.ok(Number(esm) > 0, `${name} exports something from ESM (got ${esm.trim()})`);
    const cjs = execFileSync(
      process.execPath,
      ['-e', `process.stdout.write(String(Object.keys(require(${JSON.stringify(name)})).length))`],
      { cwd: app, encoding: 'utf8' },
    );
    assert.is(Number(cjs), Number(esm), `${name} exports the same names from CJS and ESM`);
  }
});

Pack('pnpm publish --dry-run accepts every package', () => {
  for (const p of packages) {
    execFileSync('pnpm', ['publish', '--dry-run', '--no-git-checks'], { cwd: p.dir, stdio: 'pipe' });
  }
});

Pack.run();
