// get() of deep stacks through the recording syscalls: how many mount(2) calls each packing needs and what
// the driver's own work (chain read, plan, ref counts) costs. The competitor is the oldest seed's packing,
// one remount per branch (`aufs-append-each`), planned for the same stack.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planAufsMount } from '@ovl/mountopts';
import { createRecordingSyscalls } from '@ovl/syscall';
import { AufsDriver } from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'ovl-aufs-bench-plan-'));
try {
  console.log('| layers | packed calls | append-each calls | get() ms (recorded) | planAufsMount µs |');
  console.log('|---|---|---|---|---|');
  for (const n of [2, 42, 126, 200, 500]) {
    const home = join(root, `h${n}`, 'a-long-store-path-like-var-lib-docker', 'aufs');
    const rec = createRecordingSyscalls();
    const driver = await AufsDriver.init(home, {
      syscalls: rec.syscalls,
      assumeSupported: true,
      dirperm1: false,
      maxDepth: 1000,
    });
    let parent: string | undefined;
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = `${i.toString(16).padStart(64, '0')}`;
      await driver.create(id, parent);
      ids.push(id);
      parent = id;
    }
    const top = ids[n - 1]!;
    rec.calls.length = 0;
    const t0 = process.hrtime.bigint();
    await driver.get(top);
    const getMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const packed = rec.calls.filter((c) => c.name === 'mount').length;
    await driver.put(top);
    const ro = ids
      .slice(0, -1)
      .reverse()
      .map((id) => join(home, 'diff', id));
    const args = { target: join(home, 'mnt', top), rw: join(home, 'diff', top), ro };
    const each = planAufsMount({ ...args, strategy: 'aufs-append-each' }).steps.length;
    const reps = 200;
    const t1 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) planAufsMount(args);
    const planUs = Number(process.hrtime.bigint() - t1) / 1e3 / reps;
    console.log(`| ${n} | ${packed} | ${each} | ${getMs.toFixed(2)} | ${planUs.toFixed(1)} |`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
