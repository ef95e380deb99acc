import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Bytes held by a directory tree: the sizes of everything but directories, each hard-linked inode once
 * (what Docker's TreeSize / directory.Size report as a layer's diff size).
 */
export async function treeSize(root: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const ent of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, ent.name);
      if (ent.isDirectory()) {
        await walk(p);
        continue;
      }
      const st = await lstat(p, { bigint: true });
      if (st.nlink > 1n) {
        const key = `${st.dev}:${st.ino}`;
        if (seen.has(key)) continue;
        seen.add(key);
      }
      total += Number(st.size);
    }
  };
  await walk(root);
  return total;
}
