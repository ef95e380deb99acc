import { parseDigest } from './digest.js';
import { ImageError } from './errors.js';
import type { ImageFiles } from './image-files.js';
import { readJsonBlob } from './json-blob.js';
import { isIndexMediaType, isManifestMediaType } from './media-types.js';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from './oci-types.js';
import type { Platform } from './platform.js';

/** A manifest found by walking index.json and nested indexes. */
export interface ManifestCandidate {
  descriptor: Descriptor;
  /** The ref names of the top-level index.json entry it was reached from. */
  refs: string[];
  /** The descriptor's platform, or undefined when only its config can tell. */
  platform: Platform | undefined;
}

/** Annotations under which tools record an image's name in index.json. */
const REF_ANNOTATIONS = ['org.opencontainers.image.ref.name', 'io.containerd.image.name'];

export function refsOf(desc: Descriptor): string[] {
  return REF_ANNOTATIONS.map((a) => desc.annotations?.[a]).filter((r): r is string => !!r);
}

/** `foo` matches `foo`, `docker.io/library/foo:latest` matches `foo:latest` and `library/foo:latest`. */
export function refMatches(ref: string, names: string[]): boolean {
  return names.some((n) => n === ref || n.endsWith(`/${ref}`) || n === `docker.io/library/${ref}`);
}

/**
 * Walks index.json (and any nested index) to every manifest it names, keeping for each the ref it was reached
 * through. Entries of media types that are neither index nor manifest are collected so that, if nothing
 * usable remains, the error can name them.
 */
export async function collectManifests(
  files: ImageFiles,
  index: ImageIndex,
  ref: string | undefined,
): Promise<{ candidates: ManifestCandidate[]; unknown: Descriptor[] }> {
  const candidates: ManifestCandidate[] = [];
  const unknown: Descriptor[] = [];
  if (!Array.isArray(index.manifests)) {
    throw new ImageError('ERR_OVL_BAD_IMAGE', `index.json of ${files.location} has no "manifests" array`);
  }
  let top = index.manifests;
  if (ref !== undefined) {
    top = top.filter((d) => refMatches(ref, refsOf(d)) || d.digest === ref);
    if (top.length === 0) {
      const known = index.manifests.flatMap(refsOf);
      throw new ImageError(
        'ERR_OVL_REF_NOT_FOUND',
        `no image named ${JSON.stringify(ref)} in ${files.location}; it holds: ${known.length ? known.join(', ') : '(no named images)'}`,
      );
    }
  }
  const walk = async (desc: Descriptor, refs: string[], depth: number): Promise<void> => {
    parseDigest(desc.digest, 'an index entry');
    if (isIndexMediaType(desc.mediaType)) {
      if (depth > 8)
        throw new ImageError('ERR_OVL_BAD_IMAGE', `indexes nested more than 8 deep in ${files.location}`);
      const nested = await readJsonBlob<ImageIndex>(files, desc, 'index');
      for (const d of nested.manifests ?? []) await walk(d, refs, depth + 1);
    } else if (isManifestMediaType(desc.mediaType)) {
      candidates.push({ descriptor: desc, refs, platform: desc.platform });
    } else {
      unknown.push(desc);
    }
  };
  for (const d of top) await walk(d, refsOf(d), 0);
  return { candidates, unknown };
}

export async function readManifest(files: ImageFiles, desc: Descriptor): Promise<ImageManifest> {
  const manifest = await readJsonBlob<ImageManifest>(files, desc, 'manifest');
  if (!manifest || typeof manifest !== 'object' || !manifest.config || !Array.isArray(manifest.layers)) {
    throw new ImageError('ERR_OVL_BAD_IMAGE', `manifest ${desc.digest} has no config or layers`, {
      digest: desc.digest,
    });
  }
  if (manifest.mediaType !== undefined && !isManifestMediaType(manifest.mediaType)) {
    throw new ImageError(
      'ERR_OVL_UNSUPPORTED_MEDIA_TYPE',
      `manifest ${desc.digest} declares media type ${JSON.stringify(manifest.mediaType)}, not an image manifest`,
      { digest: desc.digest },
    );
  }
  return manifest;
}

export function platformOfConfig(config: ImageConfig): Platform | undefined {
  if (!config.architecture && !config.os) return undefined;
  const p: Platform = { os: config.os ?? 'linux', architecture: config.architecture ?? '' };
  if (config.variant) p.variant = config.variant;
  return p;
}
