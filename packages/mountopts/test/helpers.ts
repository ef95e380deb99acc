import * as assert from 'uvu/assert';
import { MountOptsError } from '../src/index.js';

/** Run `fn`, expect a MountOptsError with `code`, return it for further checks. */
export function throwsCode(fn: () => unknown, code: string): MountOptsError {
  try {
    fn();
  } catch (e) {
    assert.instance(e, MountOptsError);
    assert.is((e as MountOptsError).code, code, (e as Error).message);
    return e as MountOptsError;
  }
  assert.unreachable(`expected ${code}`);
  throw new Error('unreachable');
}

/** A 64-hex layer ID, distinct per `i`. */
export const hexId = (i: number) => i.toString(16).padStart(64, '0');
/** containers/storage's default overlay home. */
export const STORE = '/var/lib/containers/storage/overlay';
