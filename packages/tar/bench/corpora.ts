/**
 * The bench corpora, made once and cached outside the repo (OVL_BENCH_CACHE, default
 * /var/cache/ovl-bench): (a) a Debian bookworm minbase rootfs from debootstrap (or, when no mirror can be
 * reached, a tarball of /usr — the table then says so), (b) 100,000 files of 0–4 KiB, (c) 4 × 256 MiB;
 * and (a) compressed as registries serve layers: gzip -6 and zstd -3 (the tools' default levels).
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pack } from 'tar-stream';
import { bigLayer } from '../test/fixtures/big-layer.js';

export const cacheDir = process.env.OVL_BENCH_CACHE ?? '/var/cache/ovl-bench';

export interface Corpus {
  name: string;
  /** The layer file the tools read: a plain tar, or a compressed one. */
  tar: string;
  /** For a compressed layer: the plain tar it holds (for the entry count and the MB/s of tar). */
  plain?: string;
  note?: string;
}

function run(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  return r.status === 0;
}

/** (a) debootstrap --variant=minbase bookworm, archived by GNU tar with xattrs (as a layer would be). */
export function rootfsCorpus(): Corpus {
  mkdirSync(cacheDir, { recursive: true });
  const tar = join(cacheDir, 'rootfs-bookworm-minbase.tar');
  if (existsSync(tar)) return { name: 'rootfs (bookworm minbase)', tar };
  const dir = join(cacheDir, 'rootfs-dir');
  if (!existsSync(join(dir, 'etc/debian_version'))) {
    console.log('# making the rootfs corpus with debootstrap (once)…');
    rmSync(dir, { recursive: true, force: true });
    const ok = run('debootstrap', ['--variant=minbase', 'bookworm', dir, 'http://deb.debian.org/debian']);
    if (!ok) {
      const usr = join(cacheDir, 'usr.tar');
      if (!existsSync(usr)) run('tar', ['--xattrs', '--xattrs-include=*', '-cf', usr, '-C', '/', 'usr']);
      return { name: 'rootfs (/usr of this host)', tar: usr, note: 'debootstrap could not reach a mirror' };
    }
  }
  run('tar', ['--format=posix', '--xattrs', '--xattrs-include=*', '-cf', `${tar}.tmp`, '-C', dir, '.']);
  renameSync(`${tar}.tmp`, tar);
  return { name: 'rootfs (bookworm minbase)', tar };
}

/** (b) 100,000 files of 0–4 KiB in 100 dirs, deterministic content. */
export async function smallCorpus(): Promise<Corpus> {
  const tar = join(cacheDir, 'small-100k.tar');
  if (!existsSync(tar)) {
    mkdirSync(cacheDir, { recursive: true });
    const p = pack();
    const done = pipeline(p as never, createWriteStream(`${tar}.tmp`));
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const mtime = new Date('2024-01-01T00:00:00Z');
    for (let d = 0; d < 100; d++) {
      p.entry({ name: `d${d}/`, type: 'directory', mode: 0o755, mtime });
      for (let f = 0; f < 1000; f++) {
        const size = rand() % 4097;
        const body = Buffer.alloc(size, (d * 1000 + f) & 0xff);
        await new Promise<void>((resolve, reject) =>
          p.entry({ name: `d${d}/f${f}`, size, mode: 0o644, mtime }, body, (err) =>
            err ? reject(err) : resolve(),
          ),
        );
      }
    }
    p.finalize();
    await done;
    renameSync(`${tar}.tmp`, tar);
  }
  return { name: '100,000 small files', tar };
}

/** (c) 4 × 256 MiB files. */
export async function bigCorpus(): Promise<Corpus> {
  const tar = join(cacheDir, 'big-4x256m.tar');
  if (!existsSync(tar)) {
    mkdirSync(cacheDir, { recursive: true });
    await pipeline(bigLayer(4, 256 * 1024 * 1024) as never, createWriteStream(`${tar}.tmp`));
    renameSync(`${tar}.tmp`, tar);
  }
  return { name: '4 × 256 MiB files', tar };
}

/** `base` compressed with `gzip -6` or `zstd -3`, cached beside it. */
export function compressedCorpus(base: Corpus, kind: 'gzip' | 'zstd'): Corpus {
  const tar = `${base.tar}.${kind === 'gzip' ? 'gz' : 'zst'}`;
  if (!existsSync(tar)) {
    const args = kind === 'gzip' ? ['-6', '-c', base.tar] : ['-3', '-q', '-c', base.tar];
    const r = spawnSync('sh', ['-c', `${kind} "$@" > ${JSON.stringify(`${tar}.tmp`)}`, kind, ...args], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (r.status !== 0) throw new Error(`${kind} of ${base.tar} failed`);
    renameSync(`${tar}.tmp`, tar);
  }
  return { ...base, name: `${base.name}, ${kind}`, tar, plain: base.tar };
}
