// overlayfs refuses more than 500 lower layers (OVL_MAX_STACK) with a bare EINVAL; say so.
import type { MountStep } from '@ovl/mountopts';

export const OVERLAY_MAX_LOWERS = 500;

/** Number of lower (and data-only) layers a step hands to overlay, or 0 when it is not overlay. */
export function overlayLowerCount(step: MountStep): number {
  if (step.fstype !== 'overlay') return 0;
  if (step.kind === 'fsconfig') {
    return step.params.filter((p) => p.key === 'lowerdir+' || p.key === 'datadir+').length;
  }
  // fd-relative placeholders hold a ':' of their own
  const data = step.data.replace(/\{\{fd:\d+\}\}/g, 'fd');
  const m = /(?:^|,)lowerdir=((?:\\.|[^,\\])*)/.exec(data);
  if (!m?.[1]) return 0;
  // layers are separated by unescaped ':' ('::' before data-only layers)
  return m[1].split(/(?<!\\):+/).filter(Boolean).length;
}

/** The hint for an EINVAL from a step with too many layers, or ''. */
export function tooManyLayersHint(step: MountStep): string {
  const n = overlayLowerCount(step);
  return n > OVERLAY_MAX_LOWERS
    ? `overlayfs stacks at most ${OVERLAY_MAX_LOWERS} lower layers and this mount asks for ${n}: flatten the image or squash layers`
    : '';
}
