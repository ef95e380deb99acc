export { chainIds } from './chain-id.js';
export { blobPath, digestOf, parseDigest } from './digest.js';
export { ImageError, type ImageErrorCode, type ImageErrorOptions, isImageError } from './errors.js';
export type { LayerRef, OpenLayerOptions } from './layer-ref.js';
export { type Compression, layerCompression, MediaTypes, sniffCompression } from './media-types.js';
export type { Descriptor, DockerArchiveEntry, ImageConfig, ImageIndex, ImageManifest } from './oci-types.js';
export { type Image, type OpenImageOptions, openImage } from './open-image.js';
export {
  compatiblePlatforms,
  formatPlatform,
  hostPlatform,
  normalizePlatform,
  type Platform,
  parsePlatform,
  platformRank,
} from './platform.js';
export { type VerifyOptions, verifyStream } from './verify-stream.js';
