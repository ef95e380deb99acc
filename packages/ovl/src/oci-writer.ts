// Writes an OCI image layout: the blobs of a base image as they are (still compressed, digests kept),
// plus new layers, a new config (diff_ids and history extended) and manifest — what `ovl commit --oci`
// produces and what umoci and skopeo read.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { openImage } from '@ovl/image';

export interface NewLayer {
  /** a gzip-compressed layer tar on disk */
  path: string;
  /** sha256:… of the compressed file */
  digest: string;
  size: number;
  /** sha256:… of the uncompressed tar */
  diffId: string;
  createdBy?: string;
}

const OCI_LAYER = {
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  none: 'application/vnd.oci.image.layer.v1.tar',
} as const;

async function writeBlob(dir: string, data: string | Buffer): Promise<{ digest: string; size: number }> {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
  const hex = createHash('sha256').update(buf).digest('hex');
  await writeFile(join(dir, 'blobs', 'sha256', hex), buf);
  return { digest: `sha256:${hex}`, size: buf.length };
}

async function copyStreamBlob(dir: string, digest: string, source: () => Readable): Promise<void> {
  const dest = join(dir, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));
  if (existsSync(dest)) return;
  const tmp = `${dest}.tmp`;
  await pipeline(source(), createWriteStream(tmp));
  await rename(tmp, dest);
}

export interface WriteOciOptions {
  /** the image the new layers go on top of; omit for an image of the new layers alone */
  base?: string;
  /** which platform's manifest of `base` (default: this machine's) */
  platform?: string;
  layers: NewLayer[];
  /** `org.opencontainers.image.ref.name` of the new manifest in index.json */
  ref?: string;
}

export async function writeOciLayout(
  dir: string,
  options: WriteOciOptions,
): Promise<{ manifestDigest: string }> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), `${JSON.stringify({ imageLayoutVersion: '1.0.0' })}\n`);

  const base = options.base ? await openImage(options.base, { platform: options.platform }) : undefined;
  const layerDescriptors: Array<{ mediaType: string; digest: string; size: number }> = [];
  for (const layer of base?.layers ?? []) {
    await copyStreamBlob(dir, layer.digest, () => layer.openRaw());
    layerDescriptors.push({
      mediaType: OCI_LAYER[layer.compression],
      digest: layer.digest,
      size: layer.size,
    });
  }
  const now = new Date().toISOString();
  const config: Record<string, any> = base
    ? structuredClone(base.config as Record<string, any>)
    : {
        architecture: goArch(),
        os: 'linux',
        config: {},
        rootfs: { type: 'layers', diff_ids: [] },
        history: [],
      };
  config.rootfs = { type: 'layers', diff_ids: [...(config.rootfs?.diff_ids ?? [])] };
  config.history = [...(config.history ?? [])];
  for (const layer of options.layers) {
    await copyFile(layer.path, join(dir, 'blobs', 'sha256', layer.digest.replace(/^sha256:/, '')));
    layerDescriptors.push({ mediaType: OCI_LAYER.gzip, digest: layer.digest, size: layer.size });
    config.rootfs.diff_ids.push(layer.diffId);
    config.history.push({ created: now, created_by: layer.createdBy ?? 'ovl commit' });
  }
  config.created = now;
  const configBlob = await writeBlob(dir, JSON.stringify(config));
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...configBlob },
    layers: layerDescriptors,
  };
  const manifestBlob = await writeBlob(dir, JSON.stringify(manifest));
  // other images already in the layout stay; only an entry with the same ref name is replaced
  const kept = (await existingManifests(dir)).filter(
    (m) => !options.ref || m.annotations?.['org.opencontainers.image.ref.name'] !== options.ref,
  );
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      ...kept,
      {
        mediaType: manifest.mediaType,
        ...manifestBlob,
        platform: {
          architecture: config.architecture,
          os: config.os,
          ...(config.variant ? { variant: config.variant } : {}),
        },
        ...(options.ref ? { annotations: { 'org.opencontainers.image.ref.name': options.ref } } : {}),
      },
    ],
  };
  await writeFile(join(dir, 'index.json'), `${JSON.stringify(index)}\n`);
  return { manifestDigest: manifestBlob.digest };
}

interface IndexEntry {
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

async function existingManifests(dir: string): Promise<IndexEntry[]> {
  try {
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests?: IndexEntry[] };
    return Array.isArray(index.manifests) ? index.manifests : [];
  } catch {
    return [];
  }
}

function goArch(): string {
  return (
    (
      { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' } as Record<
        string,
        string
      >
    )[process.arch] ?? process.arch
  );
}

/** sha256 of a file, streamed. */
export async function fileDigest(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}
