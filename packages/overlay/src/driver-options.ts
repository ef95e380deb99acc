import type { DriverOptions, OverlayStrategyChoice } from '@ovl/mountopts';
import type { Syscalls } from '@ovl/syscall';

/** Options of `OverlayDriver.init`. */
export interface OverlayDriverOptions {
  /** Docker/containers-storage style `overlay.key=value` strings, parsed by @ovl/mountopts */
  driverOptions?: string[];
  /** already parsed options (wins over driverOptions) */
  parsed?: DriverOptions;
  /** deepest stack: 500 (default) or Docker's 128 */
  maxDepth?: number;
  /** force a mount strategy (default 'auto': absolute, fsconfig, fd-relative, link-relative) */
  strategy?: OverlayStrategyChoice;
  /** the syscalls to use (tests pass a recording implementation) */
  syscalls?: Syscalls;
  /** debug log; defaults to stderr when OVL_DEBUG is set */
  debug?: (msg: string) => void;
  /** warnings (e.g. no d_type); defaults to console.warn */
  warn?: (msg: string) => void;
}
