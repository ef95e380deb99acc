import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { AufsError } from './errors.js';

export interface SupportProbe {
  /** run `modprobe aufs` first (default true); its failure is ignored, as in the seed (modprobe fails in dind) */
  modprobe?: boolean;
  /** where to read the list of file systems (default `/proc/filesystems`) */
  procFilesystems?: string;
}

/** Whether a /proc/filesystems text lists aufs (a line `nodev\taufs`). */
export function listsAufs(procFilesystems: string): boolean {
  return procFilesystems.split('\n').some((line) => line.trim().split(/\s+/).pop() === 'aufs');
}

function modprobeAufs(): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn('modprobe', ['aufs'], { stdio: 'ignore' });
    child.on('error', () => resolve());
    child.on('close', () => resolve());
  });
}

/**
 * Throws `ERR_OVL_NOT_SUPPORTED` unless the kernel has aufs, after trying to load the module. Mainline Linux
 * never had aufs; only some distribution kernels (Debian/Ubuntu before 2020) shipped it.
 */
export async function assertAufsSupported(probe: SupportProbe = {}): Promise<void> {
  if (probe.modprobe !== false) await modprobeAufs();
  const file = probe.procFilesystems ?? '/proc/filesystems';
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new AufsError(
      'ERR_OVL_NOT_SUPPORTED',
      `aufs is not available in this kernel (cannot read ${file}); use the overlay driver (@ovl/overlay) instead`,
      { path: file, cause },
    );
  }
  if (!listsAufs(text)) {
    throw new AufsError(
      'ERR_OVL_NOT_SUPPORTED',
      `aufs is not available in this kernel (not in ${file}, and modprobe aufs did not load it); ` +
        'use the overlay driver (@ovl/overlay) instead',
      { path: file },
    );
  }
}
