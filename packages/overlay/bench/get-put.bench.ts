// get/put latency of the overlay driver for stacks of 1, 10, 128 and 500 layers (the upper plus
// 0, 9, 127, 499 lowers; a 1-layer stack is a base layer, which get returns unmounted), beside spawning the
// bare `mount -t overlay` + `umount` commands on the same stacks (link-relative data from the store
// dir, the shortest a command line can give; 500 layers do not fit one page that way).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OverlayDriver } from '../src/index.js';
import { median, ms, printTable } from './table.js';

if (process.getuid?.() !== 0) {
  console.log('skip: mounting needs root');
  process.exit(0);
}
const home = mkdtempSync(join(process.env.OVL_BENCH_DIR ?? tmpdir(), 'ovl-bench-getput-'));
try {
  const d = await OverlayDriver.init(home);
  // layer-i has i lowers; a stack of n layers is layer-(n-1) mounted with its upper.
  let parent: string | undefined;
  for (let i = 0; i < 500; i++) {
    await d.create(`layer-${i}`, parent);
    writeFileSync(join(home, `layer-${i}`, 'diff', `f${i}`), String(i));
    parent = `layer-${i}`;
  }
  const rows: string[][] = [];
  // a one-lower stack too, so that the smallest real mount has a row beside the bare commands
  for (const n of [1, 2, 10, 128, 500]) {
    const id = `layer-${n - 1}`;
    const runs = n >= 128 ? 15 : 30;
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = process.hrtime.bigint();
      await d.get(id);
      await d.put(id);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const strategy = d.strategies.get(id) ?? (n === 1 ? 'no mount (base layer)' : '?');
    const layer = await d.store.layer(id);
    let bare = 'n/a';
    if (n > 1) {
      const data = `lowerdir=${layer.lowers.join(':')},upperdir=${id}/diff,workdir=${id}/work`;
      if (data.length < 4095) {
        const bt: number[] = [];
        for (let i = 0; i < runs; i++) {
          const t0 = process.hrtime.bigint();
          const m = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', data, `${id}/merged`], {
            cwd: home,
          });
          const u = spawnSync('umount', [`${id}/merged`], { cwd: home });
          if (m.status !== 0 || u.status !== 0)
            throw new Error(`mount command failed: ${m.stderr}${u.stderr}`);
          bt.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
        bare = ms(median(bt));
        rows.push([
          String(n),
          strategy,
          ms(median(times)),
          bare,
          `${(median(bt) / median(times)).toFixed(1)}×`,
        ]);
        continue;
      }
      bare = `n/a (${data.length} bytes of data > one page)`;
    }
    rows.push([String(n), strategy, ms(median(times)), bare, '—']);
  }
  console.log('\nget + put (mount + unmount) of one layer, median\n');
  printTable(['layers', 'driver strategy', 'ovl get+put', 'mount+umount commands', 'commands / ovl'], rows);
} finally {
  for (const r of spawnSync('findmnt', ['-rno', 'TARGET']).stdout.toString().split('\n')) {
    if (r.startsWith(home)) spawnSync('umount', ['-l', r]);
  }
  rmSync(home, { recursive: true, force: true });
}
