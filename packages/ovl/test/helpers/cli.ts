import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = join(here, '..', '..', '..', '..');
export const embeddedImage = join(repoRoot, 'examples', 'embedded-image', 'image');
export const expectedRootfsFile = join(repoRoot, 'examples', 'embedded-image', 'expected-rootfs.json');
export const cliJs = join(here, '..', '..', 'dist', 'cli.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built `ovl` command as a user would, with output captured (so not a terminal). */
export function ovl(args: string[], env: Record<string, string> = {}): CliRun {
  const r = spawnSync(process.execPath, [cliJs, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 1 << 28,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `ovl-meta-${tag}-`));
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

export const isRoot = process.getuid?.() === 0;
