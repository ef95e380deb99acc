#!/usr/bin/env node
// A 3-layer stack in a temp dir — layer 2 deletes a file (a 0/0 whiteout device) and makes a
// directory opaque (trusted.overlay.opaque=y) — mounted read-write with overlayfs through a plan from
// @ovl/mountopts executed by @ovl/syscall; prints the merged tree, then unmounts and cleans up.
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planOverlayMount } from '@ovl/mountopts';
import { getPageSize, lsetxattr, makedev, mknod, runPlan, S_IFCHR, umount2 } from '@ovl/syscall';

if (process.getuid?.() !== 0) {
  console.error('demo: mounting overlayfs needs root (or CAP_SYS_ADMIN): run it with sudo');
  process.exit(1);
}

const home = mkdtempSync(join(tmpdir(), 'ovl-demo-'));
const dir = (...p) => {
  const d = join(home, ...p);
  mkdirSync(d, { recursive: true });
  return d;
};
const file = (path, text) => writeFileSync(path, text);

// Layer 1 (bottom): the base.
const l1 = dir('layer1');
file(join(dir('layer1', 'etc'), 'hostname'), 'base\n');
file(join(l1, 'etc', 'motd'), 'hello from layer 1\n');
file(join(dir('layer1', 'cache'), 'old-1'), 'stale\n');
file(join(l1, 'cache', 'old-2'), 'stale\n');

// Layer 2: deletes /etc/motd and makes /cache opaque with one new file in it.
const l2 = dir('layer2');
mknod(join(dir('layer2', 'etc'), 'motd'), S_IFCHR | 0o000, makedev(0, 0));
lsetxattr(dir('layer2', 'cache'), 'trusted.overlay.opaque', 'y');
file(join(l2, 'cache', 'fresh'), 'new in layer 2\n');

// Layer 3 (top of the lowers): overrides /etc/hostname.
const l3 = dir('layer3');
file(join(dir('layer3', 'etc'), 'hostname'), 'top\n');

const upper = dir('upper');
const work = dir('work');
const merged = dir('merged');
const plan = planOverlayMount({ target: merged, lowers: [l3, l2, l1], upper, work, pageSize: getPageSize() });
console.log(`plan: ${plan.strategy}, ${plan.steps.length} step(s), ${plan.dataBytes} bytes of mount data`);

await runPlan(plan);
try {
  console.log(`merged tree of ${merged}:`);
  const walk = (d, rel) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      const shown = join(rel, name);
      if (st.isDirectory()) {
        console.log(`  ${shown}/`);
        walk(p, shown);
      } else console.log(`  ${shown.padEnd(20)} ${JSON.stringify(readFileSync(p, 'utf8'))}`);
    }
  };
  walk(merged, '/');
  console.log('(etc/motd is deleted by layer 2; cache/ is opaque: old-1 and old-2 of layer 1 are hidden)');
} finally {
  umount2(merged);
  rmSync(home, { recursive: true, force: true });
}
console.log('unmounted and cleaned up');
