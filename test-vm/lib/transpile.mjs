// Under TCG every instruction is emulated, and tsx's loader (an esbuild child plus a hook on every
// import) more than doubled the guest's time for the same suite (measured: 78 s with tsx, 35 s with
// plain JS). So the host turns each suite's src/ and test/ TypeScript into JavaScript, file by file
// (no bundling: relative imports, import.meta.url and sibling scripts keep working), into a mirror
// under cache/js/<suite dir>/ with the package's package.json and a link to its node_modules.
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';

function loadEsbuild(repo) {
  // esbuild comes with tsx, a root dev dependency
  const require = createRequire(join(repo, 'package.json'));
  return createRequire(require.resolve('tsx'))('esbuild');
}

function mirror(esbuild, from, to) {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const src = join(from, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') mirror(esbuild, src, join(to, entry.name));
    } else if (/\.(m|c)?ts$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
      const out = join(to, entry.name.replace(/ts$/, 'js'));
      const { code } = esbuild.transformSync(readFileSync(src, 'utf8'), {
        loader: 'ts',
        format: entry.name.endsWith('.cts') ? 'cjs' : 'esm',
        target: 'node20',
        sourcefile: src,
      });
      writeFileSync(out, code);
      // the .ts stays beside its .js: tests may start helpers with `node --import tsx fixtures/x.ts`
      cpSync(src, join(to, entry.name));
    } else {
      cpSync(src, join(to, entry.name), { recursive: true, dereference: false });
    }
  }
}

/** Transpiles `suiteDirs` (relative to `repo`) into `outRoot`; returns the mirrored dirs that have tests. */
export function transpileSuites(repo, suiteDirs, outRoot) {
  const esbuild = loadEsbuild(repo);
  rmSync(outRoot, { recursive: true, force: true });
  for (const dir of suiteDirs) {
    const from = join(repo, dir);
    if (!existsSync(join(from, 'test'))) continue;
    const to = join(outRoot, dir);
    for (const sub of ['src', 'test']) {
      if (existsSync(join(from, sub))) mirror(esbuild, join(from, sub), join(to, sub));
    }
    cpSync(join(from, 'package.json'), join(to, 'package.json'));
    if (existsSync(join(from, 'node_modules')))
      symlinkSync(relative(to, join(from, 'node_modules')), join(to, 'node_modules'));
  }
  return outRoot;
}
