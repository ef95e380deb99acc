// Human-readable sizes as Docker reads storage options (go-units RAMInBytes): a decimal number, an optional
// single space, an optional k/m/g/t/p prefix (any case), an optional `i`, an optional `b`. Every prefix is
// binary (k = 1024) whether or not the `i` is there; the result is truncated to whole bytes.

import { MountOptsError } from './errors.js';

const SIZE = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/;
const UNIT: Record<string, number> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

/** `10G` → 10737418240, `512m` → 536870912, `1.5GiB` → 1610612736, `100kb` → 102400, `42` → 42. */
export function parseHumanSize(s: string): number {
  const m = SIZE.exec(s);
  const number = m?.[1];
  // `1.2.3` passes the pattern (as in Go) but is no number; ParseFloat refuses it there too.
  if (!m || number === undefined || !/^\d+(\.\d+)?$/.test(number)) {
    throw new MountOptsError(
      'ERR_OVL_BAD_OPTION',
      `invalid size "${s}"; write a number with an optional unit, like 10G, 512m, 1.5GiB or 100kb`,
      { option: 'size' },
    );
  }
  const bytes = Math.trunc(Number(number) * (UNIT[(m[2] ?? '').toLowerCase()] ?? 1));
  if (!Number.isSafeInteger(bytes)) {
    throw new MountOptsError('ERR_OVL_BAD_OPTION', `size "${s}" is too large to count in bytes exactly`, {
      option: 'size',
    });
  }
  return bytes;
}
