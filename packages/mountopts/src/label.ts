// SELinux mount label, appended the way the seeds' label.FormatMountLabel does: `context="<label>"` after
// a comma, or alone when the data is empty. The quotes matter: MCS labels hold commas
// (`system_u:object_r:container_file_t:s0:c1,c2`) and the LSM eats `context=` options before the
// filesystem splits the rest, honouring quotes (selinux_sb_eat_lsm_opts).

import { MountOptsError } from './errors.js';

/** Throw ERR_OVL_BAD_OPTION for a label no quoting can carry (a `"`, NUL or newline). */
export function checkMountLabel(label: string): void {
  if (/["\0\n]/.test(label)) {
    throw new MountOptsError(
      'ERR_OVL_BAD_OPTION',
      `mount label ${JSON.stringify(label)} contains a quote, NUL or newline, which mount data cannot quote; ` +
        'pass the SELinux context as the policy prints it',
      { option: 'context' },
    );
  }
}

/** `data,context="label"`; `context="label"` for empty data; `data` unchanged without a label. */
export function formatMountLabel(data: string, label?: string): string {
  if (label === undefined || label === '') return data;
  checkMountLabel(label);
  const ctx = `context="${label}"`;
  return data === '' ? ctx : `${data},${ctx}`;
}
