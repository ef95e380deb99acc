/**
 * 'flatten' only: the real paths this layer wrote, so that whiteouts and opaque markers spare them (they
 * apply to the layers below). Keeping one Set entry per file cost a hash insert per entry (~2% of a
 * small-files apply); instead a directory this apply created itself is remembered as *fresh*: it was
 * empty when made, and only this apply writes into the target while it runs, so everything inside it is
 * this layer's without being recorded one by one.
 */
export class WrittenPaths {
  private readonly paths = new Set<string>();
  private readonly fresh = new Set<string>();

  /** `real` (root-relative) was written by this layer; `parent` is its real parent dir. */
  add(real: string, parent: string): void {
    if (!this.fresh.has(parent)) this.paths.add(real);
  }

  /** `real` is a dir this apply just made with mkdir (it did not exist). */
  addFreshDir(real: string, parent: string): void {
    this.add(real, parent);
    this.fresh.add(real);
  }

  has(real: string): boolean {
    if (this.paths.has(real)) return true;
    const slash = real.lastIndexOf('/');
    return slash > 0 && this.fresh.has(real.slice(0, slash));
  }
}
