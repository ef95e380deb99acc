// Driver choice: a registry of named driver constructors and `open`, which picks one.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWriteFile } from '@ovl/store';
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

/**
 * Opens the layer store at `home` with the named driver (or the first one that works here). The driver a
 * store was created with is kept in `<home>/.ovl/driver`: `auto` reopens it with that one, and naming another
 * is refused (ERR_OVL_DRIVER_MISMATCH), since the drivers' layouts differ and each would miss the other's
 * layers — containers/storage refuses the same way.
 */
export async function open(home: string, options: OpenOptions = {}): Promise<Driver> {
  const { driver: wanted = 'auto', ...rest } = options;
  const recorded = await recordedDriver(home);
  if (recorded && wanted !== 'auto' && wanted !== recorded) {
    throw new OvlError(
      'ERR_OVL_DRIVER_MISMATCH',
      `the store ${home} was created with the ${recorded} driver, not ${wanted}: use --driver ${recorded} ` +
        '(or auto), or another --store',
    );
  }
  const driver = recorded ?? wanted;
  if (driver !== 'auto') {
    const init = registry.get(driver);
    if (!init) {
      throw new OvlError(
        'ERR_OVL_UNKNOWN_DRIVER',
        `unknown driver "${driver}"; registered: ${registeredDrivers().join(', ')}`,
      );
    }
    return remember(home, await init(home, rest), recorded);
  }
  const reasons: string[] = [];
  for (const name of AUTO_ORDER) {
    const init = registry.get(name);
    if (!init) continue;
    try {
      return remember(home, await init(home, rest), recorded);
    } catch (err) {
      reasons.push(`${name}: ${(err as Error).message}`);
    }
  }
  throw new OvlError('ERR_OVL_NOT_SUPPORTED', `no driver works for ${home}:\n  ${reasons.join('\n  ')}`);
}

const driverFile = (home: string) => join(home, '.ovl', 'driver');

async function recordedDriver(home: string): Promise<string | undefined> {
  try {
    return (await readFile(driverFile(home), 'utf8')).trim() || undefined;
  } catch {
    return undefined;
  }
}

async function remember(home: string, driver: Driver, recorded: string | undefined): Promise<Driver> {
  if (recorded !== driver.name) {
    await mkdir(join(home, '.ovl'), { recursive: true });
    await atomicWriteFile(driverFile(home), `${driver.name}\n`);
  }
  return driver;
}
