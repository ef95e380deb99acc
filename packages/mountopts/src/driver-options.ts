// Storage driver options as Docker and containers/storage take them (`--storage-opt overlay.size=10G`):
// `key=value` strings whose key names the driver. Unknown keys are errors naming the key, so a typo does not
// silently mount without the quota or image store the user asked for. Pure: paths are checked for form
// (absolute), not for existence — the driver stats them.

import { MountOptsError } from './errors.js';
import { parseHumanSize } from './human-size.js';

export type DriverName = 'overlay' | 'aufs';

export interface DriverOptions {
  driver: DriverName;
  /** overlay.size: per-container quota in bytes (XFS project quota) */
  size?: number;
  /** overlay.imagestore: additional read-only image stores, absolute, cleaned */
  imageStores: string[];
  /** overlay.override_kernel_check: skip the kernel version check */
  overrideKernelCheck: boolean;
  /** overlay.mountopt: extra mount options, one per entry (e.g. `nodev`, `metacopy=on`) */
  mountOptions: string[];
  /** overlay.mount_program: a FUSE helper (e.g. /usr/bin/fuse-overlayfs) to mount with instead of the kernel */
  mountProgram?: string;
  /** overlay.userxattr: use user.overlay.* xattrs */
  userxattr?: boolean;
  /** overlay.skip_mount_home: do not make the home a private bind mount */
  skipMountHome?: boolean;
  /** aufs.dirperm1: add dirperm1 to aufs mounts */
  dirperm1?: boolean;
  /** aufs.xino: the aufs xino file */
  xino?: string;
}

const bad = (key: string, message: string) =>
  new MountOptsError('ERR_OVL_BAD_OPTION', message, { option: key });

/** Go's strconv.ParseBool. */
export function parseBool(key: string, value: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw bad(key, `${key}=${value}: expected true or false`);
}

/** Lexical cleaning like Go's filepath.Clean for absolute paths: no `.`, `..`, doubled or trailing `/`. */
export function cleanAbsolutePath(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

function absolute(key: string, value: string): string {
  if (!value.startsWith('/'))
    throw bad(key, `${key}: path "${value}" is not absolute; give an absolute path`);
  return cleanAbsolutePath(value);
}

const PREFIXES: Record<DriverName, string[]> = { overlay: ['overlay.', 'overlay2.'], aufs: ['aufs.'] };

/**
 * Parse `key=value` driver options. Keys are case-insensitive and may be spelled `overlay.` or `overlay2.`
 * for the overlay driver, `aufs.` for aufs.
 */
export function parseDriverOptions(opts: string[], driver: DriverName = 'overlay'): DriverOptions {
  const result: DriverOptions = { driver, imageStores: [], overrideKernelCheck: false, mountOptions: [] };
  for (const option of opts) {
    const eq = option.indexOf('=');
    if (eq < 0) throw bad(option, `driver option "${option}" is not key=value; write e.g. overlay.size=10G`);
    const fullKey = option.slice(0, eq).trim().toLowerCase();
    const value = option.slice(eq + 1).trim();
    const prefix = PREFIXES[driver].find((p) => fullKey.startsWith(p));
    const known = `known keys: ${driver === 'overlay' ? 'overlay.{size,imagestore,override_kernel_check,mountopt,mount_program,userxattr,skip_mount_home}' : 'aufs.{dirperm1,xino}'}`;
    if (!prefix) throw bad(fullKey, `unknown ${driver} driver option "${fullKey}"; ${known}`);
    const key = `${driver}:${fullKey.slice(prefix.length)}`;
    switch (key) {
      case 'overlay:size':
        result.size = parseHumanSize(value);
        break;
      case 'overlay:imagestore':
        for (const store of value.split(',')) {
          if (store.trim() === '') throw bad(fullKey, `${fullKey}: empty image store path in "${value}"`);
          result.imageStores.push(absolute(fullKey, store.trim()));
        }
        break;
      case 'overlay:override_kernel_check':
        result.overrideKernelCheck = parseBool(fullKey, value);
        break;
      case 'overlay:mountopt':
        for (const o of value.split(',')) if (o.trim() !== '') result.mountOptions.push(o.trim());
        break;
      case 'overlay:mount_program':
        result.mountProgram = absolute(fullKey, value);
        break;
      case 'overlay:userxattr':
        result.userxattr = parseBool(fullKey, value);
        break;
      case 'overlay:skip_mount_home':
        result.skipMountHome = parseBool(fullKey, value);
        break;
      case 'aufs:dirperm1':
        result.dirperm1 = parseBool(fullKey, value);
        break;
      case 'aufs:xino':
        result.xino = absolute(fullKey, value);
        break;
      default:
        throw bad(fullKey, `unknown ${driver} driver option "${fullKey}"; ${known}`);
    }
  }
  return result;
}
