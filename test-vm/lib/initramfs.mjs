// The guest's initramfs: busybox (static), /init, the kernel modules in load order, and optionally
// the Node binary with the shared libraries ldd names for it (at their host paths, so the dynamic
// loader finds them unchanged). Everything else the guest needs comes over 9p from the host.
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { CpioWriter } from './cpio.mjs';

/** Host paths of the shared objects `binary` loads, the dynamic loader included. */
export function sharedLibraries(binary) {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
  const libs = [];
  for (const line of out.split('\n')) {
    const path = line.match(/=>\s*(\/\S+)/)?.[1] ?? line.match(/^\s*(\/\S+)\s+\(/)?.[1];
    if (path) libs.push(path);
  }
  return libs;
}

/**
 * Writes the initramfs to `path`. `files` are extra host files copied to the same path in the guest
 * (symlinks followed, and the link itself kept when its real path differs).
 */
export function buildInitramfs({ path, busybox, init, env, modules, files = [], links = [] }) {
  const cpio = new CpioWriter(path);
  const dirs = new Set();
  const ensureDir = (dir) => {
    if (dir === '/' || dirs.has(dir)) return;
    ensureDir(dirname(dir));
    dirs.add(dir);
    cpio.dir(dir.slice(1));
  };
  for (const dir of [
    '/bin',
    '/sbin',
    '/usr/bin',
    '/usr/sbin',
    '/proc',
    '/sys',
    '/dev',
    '/tmp',
    '/etc',
    '/modules',
  ])
    ensureDir(dir);
  cpio.file('bin/busybox', readFileSync(busybox), 0o755);
  cpio.file('init', Buffer.from(init), 0o755);
  cpio.file('etc/ovl-vm.env', Buffer.from(env));
  // tools the tests call (tar, ls -l) look owners up by name
  cpio.file(
    'etc/passwd',
    Buffer.from('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n'),
  );
  cpio.file('etc/group', Buffer.from('root:x:0:\nnogroup:x:65534:\n'));
  for (const { name, data } of modules) cpio.file(`modules/${name}.ko`, data);
  cpio.file('modules/order', Buffer.from(`${modules.map((m) => m.name).join('\n')}\n`));
  for (const [name, target] of links) {
    ensureDir(dirname(name));
    cpio.symlink(name.slice(1), target);
  }
  const done = new Set();
  for (const file of files) {
    const real = realpathSync(file);
    for (const p of new Set([real, file])) {
      if (done.has(p)) continue;
      done.add(p);
      ensureDir(dirname(p));
      if (p === real) cpio.file(p.slice(1), readFileSync(p), 0o755);
      else cpio.symlink(p.slice(1), real);
    }
  }
  cpio.close();
}
