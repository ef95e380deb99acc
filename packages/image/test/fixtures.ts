// Builds images for the tests: layer tars with tar-stream, OCI layouts and docker archives by hand, so every
// field is under the test's control (and can be broken on purpose).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';

export interface FileSpec {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
}

export const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export async function layerTar(files: FileSpec[]): Promise<Buffer> {
  const p = pack();
  const out = readAll(p as unknown as NodeJS.ReadableStream);
  for (const f of files) {
    const content = typeof f.content === 'string' ? Buffer.from(f.content) : f.content;
    const type = f.type ?? 'file';
    const mode = f.mode ?? (type === 'directory' ? 0o755 : 0o644);
    const header = { name: f.name, type, linkname: f.linkname, mode, mtime: new Date(0) };
    if (type === 'file') p.entry(header, content ?? Buffer.alloc(0));
    else p.entry(header);
  }
  p.finalize();
  return out;
}

export const hasZstd = spawnSync('zstd', ['--version']).status === 0;

export function compress(tar: Buffer, compression: 'gzip' | 'zstd' | 'none'): Buffer {
  if (compression === 'gzip') return gzipSync(tar);
  if (compression === 'zstd') return execFileSync('zstd', ['-q', '-c', '-3'], { input: tar });
  return tar;
}

const LAYER_TYPE = {
  none: 'application/vnd.oci.image.layer.v1.tar',
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
};

export interface Blob {
  digest: string;
  size: number;
  bytes: Buffer;
}

export class LayoutWriter {
  readonly blobs = new Map<string, Buffer>();
  constructor(readonly dir: string) {}

  add(bytes: Buffer | string): Blob {
    const b = Buffer.from(bytes);
    const digest = sha256(b);
    this.blobs.set(digest, b);
    return { digest, size: b.length, bytes: b };
  }

  json(value: unknown): Blob {
    return this.add(JSON.stringify(value));
  }

  /** Adds layers + config + manifest; returns the manifest descriptor (for index.json) and the pieces. */
  image(opts: {
    layers: Array<{ tar: Buffer; compression?: 'gzip' | 'zstd' | 'none'; mediaType?: string }>;
    platform?: { os: string; architecture: string; variant?: string };
    diffIds?: string[];
    configMediaType?: string;
  }) {
    const layerBlobs = opts.layers.map((l) => ({
      blob: this.add(compress(l.tar, l.compression ?? 'gzip')),
      mediaType: l.mediaType ?? LAYER_TYPE[l.compression ?? 'gzip'],
    }));
    const platform = opts.platform ?? { os: 'linux', architecture: 'amd64' };
    const config = this.json({
      ...platform,
      config: {},
      rootfs: { type: 'layers', diff_ids: opts.diffIds ?? opts.layers.map((l) => sha256(l.tar)) },
    });
    const manifest = this.json({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: opts.configMediaType ?? 'application/vnd.oci.image.config.v1+json',
        digest: config.digest,
        size: config.size,
      },
      layers: layerBlobs.map((l) => ({ mediaType: l.mediaType, digest: l.blob.digest, size: l.blob.size })),
    });
    return {
      descriptor: {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: manifest.digest,
        size: manifest.size,
      },
      manifest,
      config,
      layers: layerBlobs.map((l) => l.blob),
      platform,
    };
  }

  async write(manifests: unknown[]): Promise<void> {
    await mkdir(join(this.dir, 'blobs', 'sha256'), { recursive: true });
    await writeFile(join(this.dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await writeFile(join(this.dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
    for (const [digest, bytes] of this.blobs) {
      await writeFile(join(this.dir, 'blobs', 'sha256', digest.slice(7)), bytes);
    }
  }
}

/** Writes a legacy `docker save` directory: manifest.json, <id>.json, <layerid>/layer.tar (+ symlinks). */
export async function writeDockerArchiveDir(
  dir: string,
  opts: { layers: Buffer[]; repoTags?: string[]; config?: Record<string, unknown>; compress?: 'gzip' },
) {
  const diffIds = opts.layers.map((l) => sha256(l));
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      ...opts.config,
      rootfs: { type: 'layers', diff_ids: diffIds },
    }),
  );
  const configName = `${sha256(config).slice(7)}.json`;
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, configName), config);
  const layerNames: string[] = [];
  const seen = new Map<string, string>();
  for (const [i, tar] of opts.layers.entries()) {
    const id = createHash('sha256').update(`v1-${i}`).digest('hex');
    const name = `${id}/layer.tar`;
    await mkdir(join(dir, id), { recursive: true });
    const first = seen.get(diffIds[i]!);
    if (first) await symlink(`../${first}`, join(dir, name));
    else await writeFile(join(dir, name), opts.compress ? gzipSync(tar) : tar);
    seen.set(diffIds[i]!, name);
    layerNames.push(name);
  }
  await writeFile(
    join(dir, 'manifest.json'),
    JSON.stringify([
      { Config: configName, RepoTags: opts.repoTags ?? ['example:latest'], Layers: layerNames },
    ]),
  );
  return { diffIds, configDigest: sha256(config) };
}

/** Packs a directory into a tar file with GNU tar (the way users make `oci-archive:` files). */
export function tarDirectory(dir: string, out: string) {
  execFileSync('tar', ['-C', dir, '-cf', out, '.']);
}

export async function tempDir(prefix: string) {
  return mkdtemp(join(tmpdir(), `ovl-image-${prefix}-`));
}

export async function cleanup(dir: string | undefined) {
  if (dir) await rm(dir, { recursive: true, force: true });
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function writeBytes(path: string, bytes: Buffer) {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
}
