/**
 * Thrown by the native (upper-dir) diff and changes when the upper dir uses overlayfs features whose
 * meaning lives outside the upper dir: `redirect_dir` (a renamed directory points at its old lower path)
 * and `metacopy` (a file's data stays in a lower layer). Reading such an upper alone gives a wrong layer;
 * the naive diff over the merged tree is right. Code: `ERR_OVL_NOT_SUPPORTED`.
 */
export class UnsupportedUpperError extends Error {
  override name = 'UnsupportedUpperError';
  readonly code = 'ERR_OVL_NOT_SUPPORTED' as const;
  /** The upper-dir path carrying the feature's xattr. */
  readonly path: string;
  /** 'redirect' or 'metacopy'. */
  readonly feature: string;

  constructor(path: string, feature: string) {
    super(
      `${path} carries the overlay ${feature} xattr (mounted with ${feature === 'redirect' ? 'redirect_dir' : 'metacopy'}=on): ` +
        'the upper dir alone does not describe the layer; use the naive diff instead, ' +
        'diff({ lowers, tree: <merged mount> }) or changes(lowers, merged, { format: "naive" })',
    );
    this.path = path;
    this.feature = feature;
  }
}

/** Throws UnsupportedUpperError when an entry's overlay xattrs name redirect or metacopy. */
export function assertNativeUpper(path: string, overlayXattrNames: Iterable<string>): void {
  for (const name of overlayXattrNames) {
    if (name === 'redirect' || name === 'metacopy') throw new UnsupportedUpperError(path, name);
  }
}
