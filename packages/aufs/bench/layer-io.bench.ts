// applyDiff and diff of the aufs driver against GNU tar on the same layer (tmpfs, medians of 3 runs).
// Numbers on a shared 2-core machine are noisy; the competitor runs in the same process run.
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createRecordingSyscalls } from '@ovl/syscall';
import { AufsDriver } from '../src/index.js';

const base = existsSync('/dev/shm') ? '/dev/shm' : '/tmp';
const root = mkdtempSync(join(base, 'ovl-aufs-bench-'));
const FILES = Number(process.env.OVL_BENCH_FILES ?? 5000);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
async function time(fn: () => Promise<void> | void): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

try {
  // corpus: FILES files of 0–4 KiB in 50 dirs, plus aufs whiteouts, packed by GNU tar
  const src = join(root, 'src');
  for (let i = 0; i < FILES; i++) {
    const dir = join(src, `d${i % 50}`);
    if (i < 50) mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}`), Buffer.alloc((i * 37) % 4096, i % 251));
  }
  for (let i = 0; i < 20; i++) writeFileSync(join(src, `d${i}`, `.wh.gone${i}`), '');
  const tarFile = join(root, 'layer.tar');
  spawnSync('tar', ['-cf', tarFile, '-C', src, '.'], { stdio: 'inherit' });

  const { syscalls } = createRecordingSyscalls();
  const driver = await AufsDriver.init(join(root, 'aufs'), {
    syscalls,
    assumeSupported: true,
    dirperm1: false,
  });
  const rows: Array<[string, number]> = [];
  const runs = {
    ovlApply: [] as number[],
    gnuX: [] as number[],
    ovlDiff: [] as number[],
    gnuC: [] as number[],
  };
  for (let r = 0; r < 3; r++) {
    const id = `layer${r}`;
    await driver.create(id);
    runs.ovlApply.push(
      await time(() => driver.applyDiff(id, undefined, createReadStream(tarFile)).then(() => {})),
    );
    const out = join(root, `gnu${r}`);
    mkdirSync(out);
    runs.gnuX.push(await time(() => void spawnSync('tar', ['-xf', tarFile, '-C', out])));
    const sink = () =>
      new Writable({
        write(_c, _e, cb) {
          cb();
        },
      });
    runs.ovlDiff.push(await time(() => pipeline(driver.diff(id), sink())));
    // GNU tar -cf /dev/null skips reading file data; write to a pipe instead for a fair comparison
    runs.gnuC.push(
      await time(() => void spawnSync('sh', ['-c', `tar -cf - -C '${out}' . | cat > /dev/null`])),
    );
  }
  rows.push(['@ovl/aufs applyDiff (staged, aufs format, + diffSize walk)', median(runs.ovlApply)]);
  rows.push(['GNU tar -x', median(runs.gnuX)]);
  rows.push(['@ovl/aufs diff → null', median(runs.ovlDiff)]);
  rows.push(['GNU tar -c piped to null', median(runs.gnuC)]);
  console.log(`layer of ${FILES} files (0–4 KiB) + 20 whiteouts on ${base}, median of 3 runs`);
  console.log('| operation | ms |\n|---|---|');
  for (const [name, ms] of rows) console.log(`| ${name} | ${ms.toFixed(1)} |`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
