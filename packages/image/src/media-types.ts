import { ImageError } from './errors.js';

/** Media types of the OCI image spec and Docker's image manifest v2 schema 2. */
export const MediaTypes = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNondistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  ociLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociLayerNondistributableZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayerZstd: 'application/vnd.docker.image.rootfs.diff.tar.zstd',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

export type Compression = 'gzip' | 'zstd' | 'none';

const LAYER_COMPRESSION: Record<string, Compression> = {
  [MediaTypes.ociLayer]: 'none',
  [MediaTypes.ociLayerGzip]: 'gzip',
  [MediaTypes.ociLayerZstd]: 'zstd',
  [MediaTypes.ociLayerNondistributable]: 'none',
  [MediaTypes.ociLayerNondistributableGzip]: 'gzip',
  [MediaTypes.ociLayerNondistributableZstd]: 'zstd',
  [MediaTypes.dockerLayer]: 'none',
  [MediaTypes.dockerLayerGzip]: 'gzip',
  [MediaTypes.dockerLayerZstd]: 'zstd',
  [MediaTypes.dockerForeignLayerGzip]: 'gzip',
};

export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === MediaTypes.ociIndex || mediaType === MediaTypes.dockerManifestList;
}

export function isManifestMediaType(mediaType: string): boolean {
  return mediaType === MediaTypes.ociManifest || mediaType === MediaTypes.dockerManifest;
}

export function isConfigMediaType(mediaType: string): boolean {
  return mediaType === MediaTypes.ociConfig || mediaType === MediaTypes.dockerConfig;
}

/** The compression a layer media type declares; an unknown layer type is an error naming it. */
export function layerCompression(mediaType: string, digest?: string): Compression {
  const compression = LAYER_COMPRESSION[mediaType];
  if (compression === undefined) {
    throw new ImageError(
      'ERR_OVL_UNSUPPORTED_MEDIA_TYPE',
      `layer ${digest ?? ''} has media type ${JSON.stringify(mediaType)}, which is not a tar layer this reader knows ` +
        `(known: ${Object.keys(LAYER_COMPRESSION).join(', ')}); convert the image (e.g. skopeo copy) to a standard layer type`,
      { digest },
    );
  }
  return compression;
}

/** Sniffs compression from a blob's first bytes (docker save archives do not declare it). */
export function sniffCompression(head: Uint8Array): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}
