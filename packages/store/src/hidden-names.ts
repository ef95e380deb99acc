import { randomBytes } from 'node:crypto';
import { isAlive, selfIdentity } from './process-identity.js';

/** Prefix of entries being deleted; repair finishes deleting anything that carries it. */
export const REMOVING_PREFIX = '.removing-';
/** Prefix of entries being built; repair deletes anything that carries it. */
export const STAGING_PREFIX = '.tmp-';

/**
 * `-<pid>_<start>_<random>`: names the process that made a hidden entry, so that a repair pass run
 * by another process leaves the entries of a live process alone and deletes only those of the dead.
 */
export function ownerSuffix(): string {
  const me = selfIdentity();
  return `-${me.pid}_${me.start}_${randomBytes(4).toString('hex')}`;
}

/** A hidden name for `name` with the given prefix and this process as its owner. */
export function hiddenName(prefix: string, name: string): string {
  return `${prefix}${name}${ownerSuffix()}`;
}

/** True when the process named in a hidden entry's suffix still runs. */
export function ownerIsAlive(name: string): boolean {
  const m = /-(\d+)_(\d+)_[0-9a-f]+$/.exec(name);
  if (!m) return false;
  return isAlive({ pid: Number(m[1]), start: Number(m[2]) });
}
