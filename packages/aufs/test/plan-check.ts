// Shared by the tests: run a plan's mount steps through the aufs kernel model and check the seeds' packing.
import type { MountPlan } from '@ovl/mountopts';
import * as assert from 'uvu/assert';
import { AufsKernelModel, MS_REMOUNT, parseAufsData } from './aufs-grammar.js';

export interface PlanCheck {
  /** the branch paths of the target after every step, top first */
  stack: string[];
  /** number of mount(2) calls */
  calls: number;
}

/**
 * Every step is a classic mount(2) of fstype aufs; the first is a new mount, the others MS_REMOUNT appends;
 * every data string passes the aufs grammar within the page; each step but the last is full (the next branch
 * would not have fit), which is the seeds' packing.
 */
export function checkAufsPlan(plan: MountPlan, target: string, pageSize = plan.pageSize): PlanCheck {
  const k = new AufsKernelModel(pageSize);
  let maxBytes = 0;
  plan.steps.forEach((step, i) => {
    assert.is(step.kind, 'mount', `step ${i} is a mount(2) call`);
    if (step.kind !== 'mount') return;
    assert.is(step.target, target);
    assert.is(step.cwd, undefined, 'aufs branches are absolute: no cwd');
    assert.is((step.flags & MS_REMOUNT) !== 0, i > 0, `step ${i} remount flag`);
    k.mount(step);
    maxBytes = Math.max(maxBytes, Buffer.byteLength(step.data));
    const next = plan.steps[i + 1];
    if (next?.kind === 'mount') {
      const nextBranch = firstNewBranch(next.data);
      if (i === 0) {
        // the first mount is packed to Docker's budget: page − label − 54 (− 8 for dirperm1, − what a
        // longer xino path adds), leaving room for the options; the next branch would have crossed it
        const p = parseAufsData(step.data, { remount: false, pageSize });
        const brBytes = Buffer.byteLength(step.data.slice(0, step.data.indexOf(',')));
        const budget =
          pageSize -
          Buffer.byteLength(p.label ?? '') -
          54 -
          (p.flags.includes('dirperm1') ? 8 : 0) -
          Math.max(0, Buffer.byteLength(p.xino ?? '') - '/dev/shm/aufs.xino'.length);
        assert.ok(
          brBytes + Buffer.byteLength(`:${nextBranch}`) > budget,
          `first mount not full: ${nextBranch} fits`,
        );
      } else {
        const grown = `append:${nextBranch},${step.data}`;
        assert.ok(Buffer.byteLength(grown) + 1 > pageSize, `step ${i} is not full: ${nextBranch} would fit`);
      }
    }
  });
  assert.ok(maxBytes < pageSize, 'every data string fits a page with its NUL');
  assert.ok(plan.dataBytes < pageSize);
  return { stack: k.stack(target), calls: plan.steps.length };
}

function firstNewBranch(data: string): string {
  const p = parseAufsData(data, { remount: true, pageSize: 1 << 20 });
  const b = p.appends[0];
  if (!b) throw new Error(`no append in ${data}`);
  return `${b.path}=${b.perm}`;
}
