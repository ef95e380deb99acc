// The built-in drivers, registered under their names; `open` from the registry picks among them.
import { AufsDriver, type AufsDriverOptions } from '@ovl/aufs';
import type { Driver as GraphDriver } from '@ovl/overlay';
import { OverlayDriver, type OverlayDriverOptions } from '@ovl/overlay';
import type { Driver } from './driver.js';
import { VfsDriver } from './drivers/vfs.js';
import { register } from './registry.js';

/** The meta package keeps its records beside the driver's files, so it needs to know where they are. */
function withHome(driver: GraphDriver, home: string): Driver {
  if ('home' in driver) return driver as Driver;
  return Object.defineProperty(driver, 'home', { value: home, enumerable: true }) as Driver;
}

register('overlay', async (home, options) =>
  withHome(await OverlayDriver.init(home, options as OverlayDriverOptions), home),
);
register('aufs', async (home, options) =>
  withHome(await AufsDriver.init(home, options as AufsDriverOptions), home),
);
register('vfs', (home, options) => VfsDriver.init(home, options));

export { open, register, registeredDrivers } from './registry.js';
