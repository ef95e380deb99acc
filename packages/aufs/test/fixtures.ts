// Temp homes and stacks for the driver tests.
import { createHash } from 'node:crypto';
import { linkSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRecordingSyscalls, type RecordingOptions } from '@ovl/syscall';
import { AufsDriver, type AufsDriverOptions } from '../src/index.js';

export const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** A fresh temp dir, optionally with a long path below it (store homes of realistic length). */
export function tempHome(prefix: string, longBytes = 0): { root: string; home: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), `ovl-aufs-${prefix}-`));
  let home = join(root, 'aufs');
  if (longBytes > 0) {
    const seg = 'a-rather-long-directory-name-for-the-store';
    const parts: string[] = [];
    while (parts.join('/').length < longBytes) parts.push(seg);
    home = join(root, ...parts, 'aufs');
  }
  return { root, home, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** A driver on a recorder (no kernel involved) plus the recorder's calls and pretend mount table. */
export async function recordedDriver(
  home: string,
  options: AufsDriverOptions = {},
  recording: RecordingOptions = {},
): Promise<{ driver: AufsDriver } & ReturnType<typeof createRecordingSyscalls>> {
  const rec = createRecordingSyscalls(recording);
  const driver = await AufsDriver.init(home, {
    assumeSupported: true,
    dirperm1: false,
    ...options,
    syscalls: rec.syscalls,
  });
  return { driver, ...rec };
}

/** Creates layers sha("1") … sha(String(n)), each on the previous; returns the IDs bottom first. */
export async function createChain(driver: AufsDriver, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 1; i <= n; i++) {
    const id = sha(String(i));
    await driver.create(id, ids[ids.length - 1]);
    ids.push(id);
  }
  return ids;
}

/** Writes into a layer's diff dir what aufs writes into its rw branch for a deletion: `.wh.<name>`,
 * hard-linked to the branch's `.wh..wh.aufs` base whiteout. */
export function aufsWhiteout(diff: string, rel: string): void {
  const base = join(diff, '.wh..wh.aufs');
  try {
    writeFileSync(base, '', { flag: 'wx' });
  } catch {}
  const parts = rel.split('/');
  const name = parts.pop()!;
  linkSync(base, join(diff, ...parts, `.wh.${name}`));
}
