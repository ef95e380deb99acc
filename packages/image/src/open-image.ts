import { createHash } from 'node:crypto';
import { chainIds as computeChainIds } from './chain-id.js';
import { blobPath, digestOf, parseDigest } from './digest.js';
import { digestFromArchiveName, pickDockerEntry } from './docker-archive.js';
import { ImageError } from './errors.js';
import { type ImageFiles, openImageFiles } from './image-files.js';
import { parseJson, readJsonBlob, readJsonFile } from './json-blob.js';
import { type LayerRef, type LayerSource, makeLayerRef } from './layer-ref.js';
import { isConfigMediaType, layerCompression, MediaTypes, sniffCompression } from './media-types.js';
import { collectManifests, platformOfConfig, readManifest } from './oci-layout.js';
import type { Descriptor, DockerArchiveEntry, ImageConfig, ImageIndex, ImageManifest } from './oci-types.js';
import { pickPlatform } from './pick-platform.js';
import type { Platform } from './platform.js';

export interface OpenImageOptions {
  /** The platform to pick from a multi-platform image: `linux/arm64/v8`, `arm64` or an object. Default: this machine's. */
  platform?: string | Platform;
  /** Which image of a layout or archive holding several: a ref name / tag (`latest`, `foo:1.0`) or a manifest digest. */
  ref?: string;
}

/** An image opened for reading: its verified metadata and a way to stream each verified layer. */
export interface Image {
  /** `oci-layout` (also docker ≥ 25 archives, which are OCI layouts) or `docker-archive` (manifest.json only). */
  format: 'oci-layout' | 'docker-archive';
  /** Whether the image was read from a directory or a tar file. */
  container: 'directory' | 'tar';
  path: string;
  /** The names (ref.name annotations, RepoTags) of the chosen image. */
  refs: string[];
  /** Digest of the manifest; undefined for legacy docker archives, which have none. */
  manifestDigest: string | undefined;
  /** The manifest; for legacy docker archives one synthesized from manifest.json (Docker v2 media types). */
  manifest: ImageManifest;
  configDigest: string;
  config: ImageConfig;
  platform: Platform;
  layers: LayerRef[];
  diffIds: string[];
  chainIds: string[];
}

/**
 * Opens an OCI image layout (directory or tar) or a `docker save` archive (tar or extracted directory).
 * Reads and verifies the index, manifest and config; layer bytes are only read when a layer is opened.
 */
export async function openImage(path: string, options: OpenImageOptions = {}): Promise<Image> {
  const files = await openImageFiles(path);
  const index = await readJsonFile<ImageIndex>(files, 'index.json');
  if (index) return openOciLayout(files, index, options);
  const entries = await readJsonFile<DockerArchiveEntry[]>(files, 'manifest.json');
  if (entries) return openDockerArchive(files, entries, options);
  throw new ImageError(
    'ERR_OVL_BAD_IMAGE',
    `${path} holds neither index.json (OCI layout) nor manifest.json (docker save archive); export the image with ` +
      '`skopeo copy ... oci:DIR` or `docker save -o image.tar NAME`',
    { path },
  );
}

async function openOciLayout(
  files: ImageFiles,
  index: ImageIndex,
  options: OpenImageOptions,
): Promise<Image> {
  const { candidates, unknown } = await collectManifests(files, index, options.ref);
  if (candidates.length === 0) {
    if (unknown.length > 0) {
      throw new ImageError(
        'ERR_OVL_UNSUPPORTED_MEDIA_TYPE',
        `${files.location} names no image manifest, only entries of media types this reader does not know: ` +
          `${[...new Set(unknown.map((d) => `${d.mediaType} (${d.digest})`))].join(', ')}`,
        { digest: unknown[0]!.digest },
      );
    }
    throw new ImageError('ERR_OVL_BAD_IMAGE', `index.json of ${files.location} lists no manifests`);
  }
  // Manifests without a platform in their descriptor get it from their config.
  const configs = new Map<string, { manifest: ImageManifest; config: ImageConfig }>();
  for (const c of candidates) {
    if (c.platform) continue;
    const manifest = await readManifest(files, c.descriptor);
    const config = await readConfig(files, manifest.config);
    configs.set(c.descriptor.digest, { manifest, config });
    c.platform = platformOfConfig(config);
  }
  const chosen = pickPlatform(candidates, options.platform, files.location, options.ref);
  const desc = chosen.descriptor;
  const loaded = configs.get(desc.digest);
  const manifest = loaded?.manifest ?? (await readManifest(files, desc));
  const config = loaded?.config ?? (await readConfig(files, manifest.config));
  const diffIds = diffIdsOf(config, manifest.layers.length, files.location);
  const chains = computeChainIds(diffIds);
  const layers: LayerRef[] = [];
  for (const [i, layer] of manifest.layers.entries()) {
    parseDigest(layer.digest, `layer ${i} of manifest ${desc.digest}`);
    const compression = layerCompression(layer.mediaType, layer.digest);
    const file = blobPath(layer.digest);
    if ((await files.size(file)) === undefined && !layer.urls?.length)
      throw missingLayer(files, i, layer.digest, file);
    layers.push(
      makeLayerRef(files, {
        index: i,
        file,
        digest: layer.digest,
        diffId: diffIds[i]!,
        chainId: chains[i]!,
        parentChainId: chains[i - 1],
        mediaType: layer.mediaType,
        compression,
        size: layer.size,
        urls: layer.urls,
      }),
    );
  }
  return {
    format: 'oci-layout',
    container: files.kind,
    path: files.location,
    refs: chosen.refs,
    manifestDigest: desc.digest,
    manifest,
    configDigest: manifest.config.digest,
    config,
    platform: platformOfConfig(config) ?? chosen.platform ?? { os: 'linux', architecture: '' },
    layers,
    diffIds,
    chainIds: chains,
  };
}

async function openDockerArchive(
  files: ImageFiles,
  entries: DockerArchiveEntry[],
  options: OpenImageOptions,
): Promise<Image> {
  const entry = pickDockerEntry(files, entries, options.ref);
  const configSize = await files.size(entry.Config);
  if (configSize === undefined) throw missingFile(files, 'config', entry.Config);
  const configBytes = await files.read(entry.Config, 0, configSize);
  const configDigest = digestOf(configBytes);
  const promised = digestFromArchiveName(entry.Config);
  if (promised && promised !== configDigest) {
    throw new ImageError(
      'ERR_OVL_BAD_DIGEST',
      `config ${entry.Config} hashes to ${configDigest}, expected ${promised}; the archive is corrupt — save it again`,
      { digest: promised, path: entry.Config },
    );
  }
  const config = parseJson<ImageConfig>(configBytes, `config ${entry.Config}`);
  const chosen = pickPlatform(
    [
      {
        descriptor: { mediaType: MediaTypes.dockerManifest, digest: configDigest, size: configSize },
        refs: entry.RepoTags ?? [],
        platform: platformOfConfig(config),
      },
    ],
    options.platform,
    files.location,
    options.ref,
  );
  const diffIds = diffIdsOf(config, entry.Layers.length, files.location);
  const chains = computeChainIds(diffIds);
  const sources: LayerSource[] = [];
  for (const [i, file] of entry.Layers.entries()) {
    const size = await files.size(file);
    if (size === undefined) throw missingLayer(files, i, diffIds[i]!, file);
    const compression = sniffCompression(await files.read(file, 0, 4));
    const digest =
      digestFromArchiveName(file) ?? (compression === 'none' ? diffIds[i]! : await hashFile(files, file));
    const mediaType = {
      none: MediaTypes.dockerLayer,
      gzip: MediaTypes.dockerLayerGzip,
      zstd: MediaTypes.dockerLayerZstd,
    }[compression];
    sources.push({
      index: i,
      file,
      digest,
      diffId: diffIds[i]!,
      chainId: chains[i]!,
      parentChainId: chains[i - 1],
      mediaType,
      compression,
      size,
      urls: undefined,
    });
  }
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.dockerManifest,
    config: { mediaType: MediaTypes.dockerConfig, digest: configDigest, size: configSize },
    layers: sources.map((s) => ({ mediaType: s.mediaType, digest: s.digest, size: s.size })),
  };
  return {
    format: 'docker-archive',
    container: files.kind,
    path: files.location,
    refs: entry.RepoTags ?? [],
    manifestDigest: undefined,
    manifest,
    configDigest,
    config,
    platform: chosen.platform ?? { os: 'linux', architecture: '' },
    layers: sources.map((s) => makeLayerRef(files, s)),
    diffIds,
    chainIds: chains,
  };
}

async function readConfig(files: ImageFiles, desc: Descriptor): Promise<ImageConfig> {
  if (!isConfigMediaType(desc.mediaType)) {
    throw new ImageError(
      'ERR_OVL_UNSUPPORTED_MEDIA_TYPE',
      `config ${desc.digest} has media type ${JSON.stringify(desc.mediaType)}; expected ${MediaTypes.ociConfig} or ${MediaTypes.dockerConfig} (is this an artifact rather than an image?)`,
      { digest: desc.digest },
    );
  }
  return readJsonBlob<ImageConfig>(files, desc, 'config');
}

function diffIdsOf(config: ImageConfig, layerCount: number, location: string): string[] {
  const ids = config?.rootfs?.diff_ids;
  if (config?.rootfs?.type !== 'layers' || !Array.isArray(ids) || ids.length !== layerCount) {
    throw new ImageError(
      'ERR_OVL_BAD_IMAGE',
      `the config of the image in ${location} lists ${Array.isArray(ids) ? ids.length : 'no'} DiffIDs for ${layerCount} layers`,
    );
  }
  for (const id of ids) parseDigest(id, 'rootfs.diff_ids');
  return ids;
}

/** A compressed layer in a legacy docker archive has no recorded blob digest; compute it (streaming). */
async function hashFile(files: ImageFiles, name: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of files.stream(name)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

function missingLayer(files: ImageFiles, index: number, digest: string, file: string): ImageError {
  return new ImageError(
    'ERR_OVL_MISSING_BLOB',
    `layer ${index} blob ${digest} (${file}) is missing from ${files.location}; the image is incomplete — export it again`,
    { digest, path: file },
  );
}

function missingFile(files: ImageFiles, what: string, file: string): ImageError {
  return new ImageError('ERR_OVL_MISSING_BLOB', `${what} ${file} is missing from ${files.location}`, {
    path: file,
  });
}
