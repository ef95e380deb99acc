import { ImageError } from './errors.js';
import type { ImageFiles } from './image-files.js';
import { refMatches } from './oci-layout.js';
import type { DockerArchiveEntry } from './oci-types.js';

/**
 * Picks the entry of a `docker save` manifest.json: the one whose RepoTags match `ref`, or the only one.
 */
export function pickDockerEntry(files: ImageFiles, entries: DockerArchiveEntry[], ref: string | undefined) {
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new ImageError('ERR_OVL_BAD_IMAGE', `manifest.json of ${files.location} lists no images`);
  }
  const tags = entries.flatMap((e) => e.RepoTags ?? []);
  let picked = entries;
  if (ref !== undefined) {
    picked = entries.filter((e) => refMatches(ref, e.RepoTags ?? []) || refMatches(ref, [e.Config]));
    if (picked.length === 0) {
      throw new ImageError(
        'ERR_OVL_REF_NOT_FOUND',
        `no image tagged ${JSON.stringify(ref)} in ${files.location}; it holds: ${tags.length ? tags.join(', ') : '(untagged images)'}`,
      );
    }
  }
  if (picked.length > 1) {
    throw new ImageError(
      'ERR_OVL_AMBIGUOUS_IMAGE',
      `${files.location} holds ${picked.length} images; pass { ref } with one of: ${tags.join(', ') || picked.map((e) => e.Config).join(', ')}`,
    );
  }
  const entry = picked[0]!;
  if (typeof entry.Config !== 'string' || !Array.isArray(entry.Layers)) {
    throw new ImageError(
      'ERR_OVL_BAD_IMAGE',
      `manifest.json of ${files.location} has an entry without Config or Layers`,
    );
  }
  return entry;
}

/**
 * The digest a file name in a docker archive promises, when it promises one: `blobs/sha256/<hex>` (docker ≥ 25)
 * or `<hex>.json` (the config, named by the image ID). Layer names like `<id>/layer.tar` carry v1 IDs, not
 * content hashes, so they promise nothing.
 */
export function digestFromArchiveName(name: string): string | undefined {
  const blob = /^(?:\.\/)?blobs\/(?:sha256\/([0-9a-f]{64})|sha512\/([0-9a-f]{128}))$/.exec(name);
  if (blob) return blob[1] ? `sha256:${blob[1]}` : `sha512:${blob[2]}`;
  const flat = /^(?:\.\/)?([0-9a-f]{64})\.json$/.exec(name);
  return flat ? `sha256:${flat[1]}` : undefined;
}
