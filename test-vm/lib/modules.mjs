// Kernel modules for the guest: found by name in the unpacked kernel package, their dependencies read
// from each module's own .modinfo strings (the .deb ships no modules.dep; depmod runs at install),
// decompressed when the distribution ships them as .ko.xz / .ko.zst / .ko.gz.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const SUFFIX = /\.ko(\.xz|\.zst|\.gz)?$/;
const canonical = (name) => name.replace(/-/g, '_');

function indexModules(dir, index = new Map()) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) indexModules(path, index);
    else if (SUFFIX.test(entry.name)) index.set(canonical(entry.name.replace(SUFFIX, '')), path);
  }
  return index;
}

function readModule(path) {
  const ext = path.match(SUFFIX)[1];
  if (!ext) return readFileSync(path);
  const tool = { '.xz': 'xz', '.zst': 'zstd', '.gz': 'gzip' }[ext];
  return execFileSync(tool, ['-dc', path], { maxBuffer: 1 << 30 });
}

function dependsOf(data) {
  // .modinfo holds NUL-separated key=value strings; "depends=" lists module names, comma-separated.
  const at = data.indexOf('\0depends=');
  if (at < 0) return [];
  const end = data.indexOf(0, at + 1);
  const value = data.subarray(at + '\0depends='.length, end).toString();
  return value ? value.split(',').map(canonical) : [];
}

/**
 * Resolves `wanted` module names under `modulesDir` (lib/modules/<version>) into a load order, dependencies
 * first. Names the kernel has built in (modules.builtin) are skipped. Returns [{ name, data }].
 */
export function resolveModules(modulesDir, wanted) {
  const index = indexModules(join(modulesDir, 'kernel'));
  let builtin = new Set();
  try {
    builtin = new Set(
      readFileSync(join(modulesDir, 'modules.builtin'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => canonical(line.split('/').pop().replace(SUFFIX, ''))),
    );
  } catch {}
  const order = [];
  const seen = new Set();
  const visit = (name, chain) => {
    name = canonical(name);
    if (seen.has(name) || builtin.has(name)) return;
    const path = index.get(name);
    if (!path)
      throw new Error(`kernel module ${name} (needed by ${chain.join(' <- ')}) is not in ${modulesDir}`);
    seen.add(name);
    const data = readModule(path);
    for (const dep of dependsOf(data)) visit(dep, [name, ...chain]);
    order.push({ name, data });
  };
  for (const name of wanted) visit(name, ['guest']);
  return order;
}
