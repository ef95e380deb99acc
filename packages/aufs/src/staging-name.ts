import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { selfIdentity } from '@ovl/store';

/**
 * A hidden `.tmp-<what>-<pid>_<start>_<random>` path in `dir`: @ovl/store's repair pass deletes such entries
 * once their owner process is gone, so a crash mid-apply or mid-probe leaves nothing for long.
 */
export function stagingPath(dir: string, what: string): string {
  const me = selfIdentity();
  return join(dir, `.tmp-${what}-${me.pid}_${me.start}_${randomBytes(4).toString('hex')}`);
}
