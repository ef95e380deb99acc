import type { Driver as GraphDriver } from '@ovl/overlay';

export type { CreateOptions, GetOptions } from '@ovl/overlay';
export type { Change } from '@ovl/tar';

/**
 * The graphdriver operations (the interface @ovl/overlay and @ovl/aufs implement), plus the store's
 * location, which the meta package needs for its own records beside the driver's files.
 */
export interface Driver extends GraphDriver {
  readonly home: string;
}

/** Passed to the chosen driver's `init` as they are (see OverlayDriverOptions, AufsDriverOptions). */
export interface DriverOptions {
  /** driver options in containers/storage's spelling, e.g. `overlay.mountopt=nodev` */
  driverOptions?: string[];
  [key: string]: unknown;
}

export type DriverInit = (home: string, options: DriverOptions) => Promise<Driver>;
