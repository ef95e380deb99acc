// Driver choice: a registry of named driver constructors and `open`, which picks one.
import type { Driver, DriverInit, DriverOptions } from './driver.js';
import { OvlError } from './errors.js';

const registry = new Map<string, DriverInit>();
/** The order `auto` tries drivers in: the kernel's overlay, then aufs, then the copy-based vfs. */
const AUTO_ORDER = ['overlay', 'aufs', 'vfs'];

/** Makes a driver available to `open` under `name` (a later call with the same name replaces it). */
export function register(name: string, init: DriverInit): void {
  registry.set(name, init);
}

export function registeredDrivers(): string[] {
  return [...registry.keys()];
}

export interface OpenOptions extends DriverOptions {
  /** 'auto' (default) tries overlay, aufs, then vfs, and keeps the first that initialises */
  driver?: string;
}

/** Opens the layer store at `home` with the named driver (or the first one that works here). */
export async function open(home: string, options: OpenOptions = {}): Promise<Driver> {
  const { driver = 'auto', ...rest } = options;
  if (driver !== 'auto') {
    const init = registry.get(driver);
    if (!init) {
      throw new OvlError(
        'ERR_OVL_UNKNOWN_DRIVER',
        `unknown driver "${driver}"; registered: ${registeredDrivers().join(', ')}`,
      );
    }
    return init(home, rest);
  }
  const reasons: string[] = [];
  for (const name of AUTO_ORDER) {
    const init = registry.get(name);
    if (!init) continue;
    try {
      return await init(home, rest);
    } catch (err) {
      reasons.push(`${name}: ${(err as Error).message}`);
    }
  }
  throw new OvlError('ERR_OVL_NOT_SUPPORTED', `no driver works for ${home}:\n  ${reasons.join('\n  ')}`);
}
