// A layer whose tar breaks part-way is most often a damaged blob. The tar parser notices first (at the
// broken header), the digest check only at the blob's end, which the parser never reaches — so the user
// would read "not a valid tar stream" (exit 7) where "bad digest, copy the image again" (exit 6) is the
// truth. On a tar error we read the blob once more to its end and let its verdict win.
import type { LayerRef } from '@ovl/image';
import { isImageError } from '@ovl/image';

/** `err` from applying `layer`, or the image error that explains it (with `err` as its cause). */
export async function explainLayerError(layer: LayerRef, err: unknown): Promise<unknown> {
  if ((err as { code?: string })?.code !== 'ERR_OVL_BAD_TAR') return err;
  try {
    for await (const _ of layer.open()) {
      // drained only for the digest and DiffID checks at the end
    }
  } catch (imageErr) {
    if (isImageError(imageErr)) {
      if (imageErr.cause === undefined) Object.defineProperty(imageErr, 'cause', { value: err });
      return imageErr;
    }
  }
  return err;
}
