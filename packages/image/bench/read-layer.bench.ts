// Reading one layer through @ovl/image (verify blob digest + decompress + verify DiffID) against the same work
// done by the classic tools in a shell pipe: `gzip -dc | sha256sum`, `zstd -dc | sha256sum`, `sha256sum`.
// The layer is a tar of regular files of /usr/bin up to 96 MiB (real binaries, realistic compression ratio).
// The shell side also runs sha256sum over the blob, since we hash both the blob and the decompressed tar.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openImage } from '../src/index.js';

const RUNS = 3;
const LIMIT = 96 * 2 ** 20;
const dir = mkdtempSync(join(tmpdir(), 'ovl-image-bench-'));
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function median(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function time(fn: () => Promise<void> | void) {
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
    await fn();
    out.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  return median(out);
}

try {
  const files: string[] = [];
  let total = 0;
  for (const name of readdirSync('/usr/bin').sort()) {
    const st = statSync(join('/usr/bin', name), { throwIfNoEntry: false });
    if (!st?.isFile()) continue;
    if (total + st.size > LIMIT) continue;
    files.push(`bin/${name}`);
    total += st.size;
  }
  writeFileSync(join(dir, 'list'), files.join('\n'));
  const tarFile = join(dir, 'layer.tar');
  execFileSync('tar', ['-C', '/usr', '-cf', tarFile, '-T', join(dir, 'list')]);
  const tar = readFileSync(tarFile);
  const blobs: Record<string, Buffer> = {
    none: tar,
    gzip: execFileSync('gzip', ['-6', '-c', tarFile], { maxBuffer: 2 ** 30 }),
  };
  const hasZstd = spawnSync('zstd', ['--version']).status === 0;
  if (hasZstd) blobs.zstd = execFileSync('zstd', ['-3', '-q', '-c', tarFile], { maxBuffer: 2 ** 30 });
  const type = { none: 'tar', gzip: 'tar+gzip', zstd: 'tar+zstd' } as Record<string, string>;
  const layout = join(dir, 'layout');
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  const put = (b: Buffer) => {
    writeFileSync(join(layout, 'blobs', 'sha256', sha(b).slice(7)), b);
    return { digest: sha(b), size: b.length };
  };
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(tar)] } }),
  );
  const refs = Object.entries(blobs).map(([c, blob]) => {
    const m = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...put(config) },
        layers: [{ mediaType: `application/vnd.oci.image.layer.v1.${type[c]}`, ...put(blob) }],
      }),
    );
    return {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      ...put(m),
      annotations: { 'org.opencontainers.image.ref.name': c },
    };
  });
  writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: refs }));
  writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const layoutTar = join(dir, 'layout.tar');
  execFileSync('tar', ['-C', layout, '-cf', layoutTar, '.']);

  const rows: string[][] = [];
  const mib = tar.length / 2 ** 20;
  for (const c of Object.keys(blobs)) {
    const blobFile = join(layout, 'blobs', 'sha256', sha(blobs[c]!).slice(7));
    const ours = async (path: string) => {
      const image = await openImage(path, { ref: c, platform: 'linux/amd64' });
      for await (const _ of image.layers[0]!.open());
    };
    const dirTime = await time(() => ours(layout));
    const tarTime = await time(() => ours(layoutTar));
    const pipe = c === 'none' ? `sha256sum ${blobFile}` : `${c} -dc ${blobFile} | sha256sum`;
    const theirs = await time(() => {
      execFileSync('sh', ['-c', `sha256sum ${blobFile} >/dev/null; ${pipe} >/dev/null`]);
    });
    rows.push([
      c,
      `${(blobs[c]!.length / 2 ** 20).toFixed(1)}`,
      dirTime.toFixed(2),
      tarTime.toFixed(2),
      theirs.toFixed(2),
      `${(mib / dirTime).toFixed(0)}`,
      pipe.replace(blobFile, 'BLOB').replace('|', '\\|'),
    ]);
  }
  console.log(
    `layer: ${files.length} files of /usr/bin, ${mib.toFixed(1)} MiB of tar; median of ${RUNS}; Node ${process.version}`,
  );
  console.log(
    '| compression | blob MiB | @ovl/image dir (s) | @ovl/image OCI tar (s) | shell tools (s) | ours MiB/s (dir) | shell pipeline (+ sha256sum of the blob) |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
