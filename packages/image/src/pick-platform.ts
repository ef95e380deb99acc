import { ImageError } from './errors.js';
import type { ManifestCandidate } from './oci-layout.js';
import { formatPlatform, hostPlatform, type Platform, parsePlatform, platformRank } from './platform.js';

/**
 * Chooses the manifest to use: the best platform match for `wanted` (default: this machine), as containerd
 * orders them. A manifest that names no platform at all (hand-made images) runs anywhere, after real matches.
 * A `ref` that leads to a single manifest is used as is unless a platform was asked for explicitly.
 */
export function pickPlatform(
  candidates: ManifestCandidate[],
  wanted: string | Platform | undefined,
  location: string,
  ref: string | undefined,
): ManifestCandidate {
  // A ref naming exactly one manifest, with no platform asked for, is taken as the user's explicit choice.
  if (
    wanted === undefined &&
    ref !== undefined &&
    new Set(candidates.map((c) => c.descriptor.digest)).size === 1
  ) {
    return candidates[0]!;
  }
  const target =
    wanted === undefined ? hostPlatform() : typeof wanted === 'string' ? parsePlatform(wanted) : wanted;
  const ranked = candidates.map((c) => ({
    c,
    rank: !c.platform?.architecture ? 1000 : platformRank(target, c.platform),
  }));
  const usable = ranked.filter((r) => r.rank >= 0);
  if (usable.length === 0) {
    const available = [
      ...new Set(candidates.map((c) => (c.platform ? formatPlatform(c.platform) : 'unknown'))),
    ];
    throw new ImageError(
      'ERR_OVL_NO_MATCHING_PLATFORM',
      `no manifest in ${location} matches platform ${formatPlatform(target)}; available: ${available.join(', ')}. ` +
        'Pass { platform } (e.g. "linux/arm64/v8") to pick one of them.',
    );
  }
  const best = Math.min(...usable.map((r) => r.rank));
  const ties = usable.filter((r) => r.rank === best);
  const digests = new Set(ties.map((t) => t.c.descriptor.digest));
  if (digests.size > 1 && ref === undefined) {
    const names = new Set(ties.map((t) => t.c.refs.join('|')));
    if (names.size > 1) {
      throw new ImageError(
        'ERR_OVL_AMBIGUOUS_IMAGE',
        `${location} holds several images for ${formatPlatform(target)}; pass { ref } with one of: ` +
          ties.map((t) => t.c.refs[0] ?? t.c.descriptor.digest).join(', '),
      );
    }
  }
  return ties[0]!.c;
}
