// One lock per store for the commands that create or remove image layers. Without it, two `ovl unpack`
// runs sharing a base layer race: the second sees the first's layer half-applied (in the driver, not yet
// recorded), takes it for a crash's leftover and removes it; or one run's rollback removes a base the
// other just built on. flock releases itself when a holder dies, so a killed unpack never wedges the
// store. The price: unpacks into one store run one after another.
import { join } from 'node:path';
import { withFileLock } from '@ovl/store';

/** Long enough for another process to unpack a large image; then the waiter gives up with an error. */
const WAIT_MS = 60 * 60 * 1000;

/** Runs `fn` holding `<home>/.ovl.lock` (a dot name, which no driver takes for a layer). */
export function withStoreLock<T>(home: string, fn: () => Promise<T>): Promise<T> {
  return withFileLock(join(home, '.ovl.lock'), fn, WAIT_MS);
}
