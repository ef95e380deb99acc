// planAufsMount (from @ovl/mountopts) as this driver uses it: every planned data string passes the aufs
// grammar, the mounts carry exactly the expected stack in order, and the packing is the seeds'.
import { createHash } from 'node:crypto';
import { planAufsMount } from '@ovl/mountopts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAufsData } from './aufs-grammar.js';
import { checkAufsPlan } from './plan-check.js';

const hash = (s: string) => createHash('sha256').update(s).digest('hex');
const diffOf = (home: string, id: string) => `${home}/diff/${id}`;

/** Docker's stack of n layers under `home`: IDs sha256("1")...sha256("n"), top first. */
function dockerStack(home: string, n: number): { rw: string; ro: string[] } {
  const ids = Array.from({ length: n }, (_, i) => hash(String(i + 1))).reverse();
  return { rw: diffOf(home, ids[0]!), ro: ids.slice(1).map((id) => diffOf(home, id)) };
}

const Stacks = suite('planAufsMount: stacks through the aufs grammar');

for (const n of [1, 2, 50, 126, 200]) {
  for (const home of ['/var/lib/docker/aufs', `/tmp/${'long-path-segment/'.repeat(12)}aufs`]) {
    Stacks(`${n} layers under a ${home.length}-byte home`, () => {
      const target = `${home}/mnt/${hash('top')}`;
      const { rw, ro } = dockerStack(home, n);
      const plan = planAufsMount({ target, rw, ro });
      const r = checkAufsPlan(plan, target);
      assert.equal(r.stack, [rw, ...ro], 'exactly the stack, top first');
      const first = plan.steps[0]!;
      assert.ok(first.kind === 'mount');
      const p = parseAufsData(first.kind === 'mount' ? first.data : '', { remount: false });
      assert.is(p.xino, '/dev/shm/aufs.xino');
      assert.equal(p.flags, ['dio']);
      assert.is(p.br?.[0]?.perm, 'rw');
      for (const b of p.br?.slice(1) ?? []) assert.is(b.perm, 'ro+wh');
      if (n <= 2) assert.is(plan.steps.length, 1, 'a short stack is one mount(2)');
    });
  }
}

Stacks('a label rides on every call; dirperm1 and a custom xino on the first', () => {
  const home = `/srv/${'x'.repeat(150)}/aufs`;
  const target = `${home}/mnt/top`;
  const { rw, ro } = dockerStack(home, 80);
  const label = 'system_u:object_r:container_file_t:s0:c1,c2';
  const plan = planAufsMount({ target, rw, ro, label, dirperm1: true, xino: '/run/aufs/xino-long-name' });
  const r = checkAufsPlan(plan, target);
  assert.equal(r.stack, [rw, ...ro]);
  assert.ok(plan.steps.length > 2);
  plan.steps.forEach((s, i) => {
    const p = parseAufsData(s.kind === 'mount' ? s.data : '', { remount: i > 0 });
    assert.is(p.label, label, `step ${i} carries the label`);
    if (i === 0) {
      assert.is(p.xino, '/run/aufs/xino-long-name');
      assert.equal(p.flags, ['dio', 'dirperm1']);
    } else assert.equal(p.flags, []);
  });
});

Stacks('the older one-remount-per-branch strategy carries the same stack', () => {
  const home = `/tmp/${'y'.repeat(100)}`;
  const target = `${home}/mnt/top`;
  const { rw, ro } = dockerStack(home, 60);
  const plan = planAufsMount({ target, rw, ro, strategy: 'aufs-append-each' });
  const packed = planAufsMount({ target, rw, ro });
  const first = plan.steps[0]!;
  assert.equal(first, packed.steps[0], 'same first mount');
  const k = checkAufsPlanLoose(plan, target);
  assert.equal(k, [rw, ...ro]);
  for (const s of plan.steps.slice(1)) {
    const p = parseAufsData(s.kind === 'mount' ? s.data : '', { remount: true });
    assert.is(p.appends.length, 1, 'one branch per remount');
  }
});

/** The stack without the packing assertion (append-each is deliberately not packed). */
function checkAufsPlanLoose(plan: ReturnType<typeof planAufsMount>, target: string): string[] {
  const stack: string[] = [];
  plan.steps.forEach((s, i) => {
    if (s.kind !== 'mount') throw new Error('not a mount step');
    assert.is(s.target, target);
    const p = parseAufsData(s.data, { remount: i > 0 });
    if (p.br) stack.push(...p.br.map((b) => b.path));
    stack.push(...p.appends.map((b) => b.path));
  });
  return stack;
}

const Docker = suite("Docker's 42+ layer tests");

// moby's TestMountMoreThan42LayersMatchingPathLength: grow a run of zeroes in the home path until the
// 4095-byte boundary falls between two branch entries or inside an entry's `=ro+wh`; each entry is
// `:<home>/diff/<64 hex>=ro+wh`, 77 bytes plus the home's length.
Docker('126 layers with the page boundary between entries and inside =ro+wh', () => {
  let zeroes = '0';
  const homes: Array<{ home: string; where: string }> = [];
  while (homes.length < 2 && zeroes.length < 300) {
    const home = `/tmp/aufs-tests/${zeroes}/aufs`;
    const entry = 77 + home.length;
    const mod = 4095 % entry;
    if (mod === 0 && !homes.some((h) => h.where === 'between')) homes.push({ home, where: 'between' });
    if (mod > entry - 7 && !homes.some((h) => h.where === 'permission'))
      homes.push({ home, where: 'permission' });
    zeroes += '0';
  }
  assert.is(homes.length, 2, 'found both kinds of home');
  for (const { home } of homes) {
    const target = `${home}/mnt/${hash('126')}`;
    const { rw, ro } = dockerStack(home, 126);
    const r = checkAufsPlan(planAufsMount({ target, rw, ro }), target);
    assert.equal(r.stack, [rw, ...ro]);
  }
});

const Boundary = suite('planAufsMount: page boundary');

// Find the branch-path length at which the whole stack exactly fills Docker's first-mount budget, then
// step over it byte by byte: exactly at the budget is one call; one byte more, or up to the whole
// `=ro+wh` more, moves the last branch into an append remount.
Boundary('exactly at the budget, one byte over, and over by each byte of =ro+wh', () => {
  const target = '/m';
  const rw = '/r';
  const withLast = (len: number) => ({ rw, ro: ['/a', '/b', `/${'c'.repeat(len - 1)}`] });
  let fits = 0;
  for (let len = 3900; len < 4060; len++) {
    if (planAufsMount({ target, ...withLast(len) }).steps.length === 1) fits = len;
  }
  assert.ok(fits < 4059, 'some length does not fit');
  // Docker's budget 4096 − 54, less 'br:/r=rw:/a=ro+wh:/b=ro+wh' (26) and the entry's ':' '=ro+wh' (7)
  assert.is(fits, 4096 - 54 - 26 - 7);
  const exact = planAufsMount({ target, ...withLast(fits) });
  assert.equal(checkAufsPlan(exact, target).stack, [rw, '/a', '/b', `/${'c'.repeat(fits - 1)}`]);
  for (let over = 1; over <= ':=ro+wh'.length; over++) {
    const plan = planAufsMount({ target, ...withLast(fits + over) });
    assert.is(plan.steps.length, 2, `over by ${over}`);
    const r = checkAufsPlan(plan, target);
    assert.equal(r.stack, [rw, '/a', '/b', `/${'c'.repeat(fits + over - 1)}`]);
  }
});

Boundary('append remounts fill a page: exactly page-1 bytes fits one remount', () => {
  const target = '/m';
  // a first mount that takes nothing but its rw branch, then appends of computed lengths
  const big = `/${'r'.repeat(3900)}`;
  const tail = (len: number) => [`/${'a'.repeat(len - 1)}`, '/b'];
  // 'append:<a>=ro+wh,append:/b=ro+wh' = 7 + len + 6 + 1 + 15 bytes
  const lenForExact = 4095 - (7 + 6 + 1 + 15);
  const exact = planAufsMount({ target, rw: big, ro: tail(lenForExact) });
  assert.is(exact.steps.length, 2);
  const s = exact.steps[1]!;
  assert.is(s.kind === 'mount' ? Buffer.byteLength(s.data) : 0, 4095);
  checkAufsPlan(exact, target);
  const over = planAufsMount({ target, rw: big, ro: tail(lenForExact + 1) });
  assert.is(over.steps.length, 3);
  assert.equal(checkAufsPlan(over, target).stack, [big, ...tail(lenForExact + 1)]);
});

Boundary('16K pages pack four times as much', () => {
  const home = `/tmp/${'z'.repeat(120)}`;
  const target = `${home}/mnt/t`;
  const { rw, ro } = dockerStack(home, 200);
  const p4 = planAufsMount({ target, rw, ro, pageSize: 4096 });
  const p16 = planAufsMount({ target, rw, ro, pageSize: 16384 });
  assert.ok(p16.steps.length < p4.steps.length);
  assert.equal(checkAufsPlan(p16, target, 16384).stack, [rw, ...ro]);
  assert.throws(() => checkAufsPlan(p16, target, 4096), /do not fit a 4096-byte page/);
});

Stacks.run();
Docker.run();
Boundary.run();
