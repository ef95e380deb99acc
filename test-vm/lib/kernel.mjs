// Debian's own kernel for the guest: `apt-get download` of the package linux-image-amd64 depends on,
// unpacked with `dpkg-deb -x` into the cache. Once unpacked, later runs use the cache and ask apt
// nothing. OVL_VM_KERNEL_DEB=<path to a linux-image .deb> skips apt (for hosts without Debian's apt).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

export class VmUnavailableError extends Error {
  constructor(message, options) {
    super(message, options);
    this.code = 'ERR_OVL_VM_UNAVAILABLE';
  }
}

const META_PACKAGE = 'linux-image-amd64';

function aptKernelPackage() {
  let out;
  try {
    out = execFileSync('apt-cache', ['depends', META_PACKAGE], { encoding: 'utf8' });
  } catch (cause) {
    throw new VmUnavailableError(
      `cannot ask apt which kernel ${META_PACKAGE} depends on; set OVL_VM_KERNEL_DEB to a linux-image .deb`,
      { cause },
    );
  }
  const pkg = out.match(/Depends: (linux-image-\S+)/)?.[1];
  if (!pkg) throw new VmUnavailableError(`apt-cache depends ${META_PACKAGE} names no linux-image package`);
  return pkg;
}

function download(pkg, dir) {
  try {
    execFileSync('apt-get', ['download', pkg], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (cause) {
    throw new VmUnavailableError(`apt-get download ${pkg} failed: ${cause.stderr ?? cause.message}`, {
      cause,
    });
  }
  const deb = readdirSync(dir).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
  if (!deb) throw new VmUnavailableError(`apt-get download ${pkg} left no .deb in ${dir}`);
  return join(dir, deb);
}

/** Returns { version, vmlinuz, modulesDir, deb, fresh } for the guest kernel, fetching it when not cached. */
export function ensureKernel(cacheDir, log) {
  const dir = join(cacheDir, 'kernel');
  const recordPath = join(dir, 'kernel.json');
  if (existsSync(recordPath)) {
    const record = JSON.parse(readFileSync(recordPath, 'utf8'));
    if (
      existsSync(record.vmlinuz) &&
      (!process.env.OVL_VM_KERNEL_DEB || record.deb === process.env.OVL_VM_KERNEL_DEB)
    )
      return { ...record, fresh: false };
  }
  mkdirSync(dir, { recursive: true });
  let deb = process.env.OVL_VM_KERNEL_DEB;
  if (!deb) {
    const fetch = () => {
      const pkg = aptKernelPackage();
      log(`downloading ${pkg} with apt-get download`);
      return download(pkg, dir);
    };
    try {
      deb = fetch();
    } catch (err) {
      // Package lists that are missing (an image shipped without them) or stale (the mirror has moved
      // on to a newer kernel build, so the listed .deb is gone) fail here: as root, refresh them once.
      if (process.getuid?.() !== 0) throw err;
      log(`${err.message}; running apt-get update once and trying again`);
      try {
        execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'pipe'] });
      } catch (cause) {
        throw new VmUnavailableError(`apt-get update failed: ${cause.stderr ?? cause.message}`, { cause });
      }
      deb = fetch();
    }
  }
  const root = join(dir, 'root');
  const partial = `${root}.partial`;
  rmSync(partial, { recursive: true, force: true });
  log(`unpacking ${basename(deb)}`);
  try {
    execFileSync('dpkg-deb', ['-x', deb, partial]);
  } catch (cause) {
    throw new VmUnavailableError(`dpkg-deb -x ${deb} failed (is dpkg-deb installed?)`, { cause });
  }
  rmSync(root, { recursive: true, force: true });
  renameSync(partial, root);
  // the unpacked tree is all later runs read; a .deb we downloaded ourselves is 70 MB of nothing
  if (!process.env.OVL_VM_KERNEL_DEB) rmSync(deb, { force: true });
  const version = readdirSync(join(root, 'lib/modules'))[0];
  const vmlinuz = join(root, 'boot', `vmlinuz-${version}`);
  if (!existsSync(vmlinuz)) throw new VmUnavailableError(`${basename(deb)} holds no boot/vmlinuz-${version}`);
  const record = { version, vmlinuz, modulesDir: join(root, 'lib/modules', version), deb };
  writeFileSync(recordPath, `${JSON.stringify(record, null, 2)}\n`);
  return { ...record, fresh: true };
}
