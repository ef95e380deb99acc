#!/usr/bin/env node
// @ovl/mountopts on its own, as another project would use (or copy) it: no I/O, no dependencies.
// Plans a 200-layer overlay mount for a kernel with and without the new mount API, and an aufs mount.
import { planAufsMount, planOverlayMount } from '@ovl/mountopts';

const home = '/var/lib/containers/storage/overlay';
const ids = Array.from({ length: 200 }, (_, i) => i.toString(16).padStart(64, '0'));
const lowers = ids.map((id) => `${home}/${id}/diff`);
const links = { home, names: ids.map((_, i) => `l/${String(i).padStart(26, 'A')}`) };
const base = {
  target: `${home}/top/merged`,
  lowers,
  upper: `${home}/top/diff`,
  work: `${home}/top/work`,
  links,
};

for (const kernel of [{ lowerdirPlus: true }, { lowerdirPlus: false }]) {
  const plan = planOverlayMount({ ...base, kernel });
  console.log(
    `kernel ${kernel.lowerdirPlus ? 'with' : 'without'} lowerdir+: strategy ${plan.strategy}, ${plan.steps.length} step(s), longest data ${plan.dataBytes} bytes`,
  );
}
const aufs = planAufsMount({
  target: '/mnt/aufs',
  rw: '/var/lib/docker/aufs/diff/rw',
  ro: lowers.slice(0, 60),
});
console.log(`aufs: ${aufs.steps.length} mount calls for 60 read-only branches`);
console.log(
  aufs.steps
    .map((s) => (s.kind === 'mount' ? `  flags=${s.flags} data=${s.data.slice(0, 70)}…` : ''))
    .join('\n'),
);
