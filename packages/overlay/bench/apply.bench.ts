// create + applyDiff of a rootfs-like layer (a slice of this machine's /usr: python, perl, sbin,
// zoneinfo — thousands of files of every size) beside GNU tar extracting the same tar into an empty
// dir on the same filesystem. Set OVL_BENCH_ROOTFS to a directory to use another tree.
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OverlayDriver } from '../src/index.js';
import { median, ms, printTable } from './table.js';

if (process.getuid?.() !== 0) {
  console.log('skip: needs root (owners, devices)');
  process.exit(0);
}
const work = mkdtempSync(join(process.env.OVL_BENCH_DIR ?? tmpdir(), 'ovl-bench-apply-'));
try {
  const tarFile = join(work, 'rootfs.tar');
  const root = process.env.OVL_BENCH_ROOTFS;
  const args = root
    ? ['-C', root, '-cf', tarFile, '.']
    : [
        '-C',
        '/',
        '-cf',
        tarFile,
        ...['usr/lib/python3', 'usr/share/perl', 'usr/sbin', 'usr/share/zoneinfo'].filter((p) =>
          existsSync(`/${p}`),
        ),
      ];
  spawnSync('tar', args, { stdio: 'inherit' });
  const entries = spawnSync('tar', ['-tf', tarFile]).stdout.toString().split('\n').length - 1;
  const mib = statSync(tarFile).size / 2 ** 20;
  const d = await OverlayDriver.init(join(work, 'store'));
  const ovl: number[] = [];
  const gnu: number[] = [];
  for (let i = 0; i < 3; i++) {
    let t0 = process.hrtime.bigint();
    await d.create(`layer-${i}`);
    await d.applyDiff(`layer-${i}`, undefined, createReadStream(tarFile));
    ovl.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const dir = join(work, `gnu-${i}`);
    t0 = process.hrtime.bigint();
    mkdirSync(dir);
    const r = spawnSync('tar', ['-C', dir, '-xf', tarFile]);
    if (r.status !== 0) throw new Error(`GNU tar failed: ${r.stderr}`);
    gnu.push(Number(process.hrtime.bigint() - t0) / 1e6);
    await d.remove(`layer-${i}`);
    rmSync(dir, { recursive: true });
  }
  console.log(`\ncreate + applyDiff of a ${mib.toFixed(0)} MiB, ${entries}-entry layer, median of 3\n`);
  printTable(
    ['tool', 'time', 'vs GNU tar'],
    [
      ['ovl create + applyDiff', ms(median(ovl)), `${(median(ovl) / median(gnu)).toFixed(2)}×`],
      ['GNU tar -x', ms(median(gnu)), '1.00×'],
    ],
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
