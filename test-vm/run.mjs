#!/usr/bin/env node
// pnpm test:vm — runs the privileged suites on Debian's own kernel (6.1) in a qemu VM and prints their
// results here. See README.md. Exit codes: 0 all passed, 1 a test or the build failed, 2 bad usage,
// 77 the VM could not run (no qemu, no kernel package, guest never reached /init, too slow).
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { buildInitramfs } from './lib/initramfs.mjs';
import { ensureKernel, VmUnavailableError } from './lib/kernel.mjs';
import { resolveModules } from './lib/modules.mjs';
import { boot, findQemu, kvmUsable } from './lib/qemu.mjs';
import { transpileSuites } from './lib/transpile.mjs';

export const EXIT_PASS = 0;
export const EXIT_FAIL = 1;
export const EXIT_USAGE = 2;
export const EXIT_VM_UNAVAILABLE = 77;

// The issue's must-haves first (fallback plans and feature probes, then the overlay driver), so that a
// slow TCG host spends its budget on them before the syscall package's own suite.
const DEFAULT_SUITES = ['test-vm/guest', 'packages/overlay', 'packages/syscall'];
// virtio_pci carries the 9p transport and the scratch disk; overlay is what we test; ext4 (with the
// crc32c its checksums ask the crypto API for) formats /tmp. loop + xfs let the overlay suite make an
// xfs file system with project quotas (Debian's 6.1 has CONFIG_XFS_QUOTA; this host's kernel does not),
// fuse lets it run fuse-overlayfs as mount_program. Everything else is built in (tmpfs, devtmpfs, the
// 8250 serial console) in Debian's config.
const GUEST_MODULES = [
  'virtio_pci',
  '9pnet_virtio',
  '9p',
  'virtio_blk',
  'crc32c_generic',
  'ext4',
  'overlay',
  'loop',
  'xfs',
  'fuse',
];

// A working KVM boots to /init in 1-2 s; where /dev/kvm exists but nested virtualization does not
// work, qemu sits silent (measured: 120 s without output). Under TCG /init comes after 5-35 s.
const KVM_INIT_TIMEOUT = 20;
const TCG_INIT_TIMEOUT = 120;

const here = import.meta.dirname;
const repo = dirname(here);
const cache = join(here, 'cache');
// What one run builds (transpiled suites, scratch disk, initramfs) lives apart from other runs' and is
// removed at exit; only the kernel is shared across runs.
const work = join(cache, `run-${process.pid}`);
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));
const started = Date.now();
const since = (t) => `${((Date.now() - t) / 1000).toFixed(1)} s`;
const log = (msg) => console.log(`[test-vm ${since(started).padStart(7)}] ${msg}`);

function usage() {
  console.log(`usage: node test-vm/run.mjs [--accel auto|kvm|tcg] [--no-build] [--timeout SECONDS] [--memory MIB]
                          [--runner js|tsx] [--command 'SHELL COMMAND'] [SUITE_DIR...]
  --timeout  wall-clock limit of the whole run, download and build included (default 570)
  --file-timeout  limit for one test file in the guest (default 360)
  --lanes    test files run at a time in the guest (default 2, one per vCPU)
  --runner   js (default): the host transpiles src/ and test/ and the guest runs plain JS;
             tsx: the guest runs test/*.test.ts under tsx like the host (twice as slow under TCG)
  --command  run this in the guest (cwd: the repo) instead of the suites, e.g. to debug
  SUITE_DIR  directories (relative to the repo) whose test/*.test.ts run in the guest
             (default: ${DEFAULT_SUITES.join(' ')})`);
}

let opts;
try {
  opts = parseArgs({
    allowPositionals: true,
    options: {
      accel: { type: 'string', default: process.env.OVL_VM_ACCEL ?? 'auto' },
      'no-build': { type: 'boolean', default: false },
      timeout: { type: 'string', default: process.env.OVL_VM_TIMEOUT ?? '570' },
      'file-timeout': { type: 'string', default: process.env.OVL_VM_FILE_TIMEOUT ?? '360' },
      memory: { type: 'string', default: process.env.OVL_VM_MEMORY ?? '2048' },
      lanes: { type: 'string', default: process.env.OVL_VM_LANES ?? '2' },
      command: { type: 'string' },
      runner: { type: 'string', default: process.env.OVL_VM_RUNNER ?? 'js' },
      help: { type: 'boolean', default: false },
    },
  });
} catch (error) {
  console.error(error.message);
  usage();
  process.exit(EXIT_USAGE);
}
if (opts.values.help) {
  usage();
  process.exit(EXIT_PASS);
}
if (!['js', 'tsx'].includes(opts.values.runner)) {
  console.error(`--runner must be js or tsx, not ${opts.values.runner}`);
  process.exit(EXIT_USAGE);
}
if (!['auto', 'kvm', 'tcg'].includes(opts.values.accel)) {
  console.error(`--accel must be auto, kvm or tcg, not ${opts.values.accel}`);
  process.exit(EXIT_USAGE);
}
const suites = opts.positionals.length ? opts.positionals : DEFAULT_SUITES;

function unavailable(message) {
  log(`VM UNAVAILABLE: ${message}`);
  log(`exit ${EXIT_VM_UNAVAILABLE} (the privileged suite did NOT run) after ${since(started)}`);
  process.exit(EXIT_VM_UNAVAILABLE);
}

/**
 * The guest reaches host directories read-only over 9p at the same paths: the repo (pnpm's symlinks
 * then resolve as here), /usr (node's libraries, and tools like tar or getfattr that tests call), and
 * node's own prefix when it lives elsewhere (nvm). Measured faster than packing node into the
 * initramfs: the kernel no longer unpacks ~100 MB before /init, and node's pages load on demand.
 */
function guestShares() {
  const paths = new Set([repo, '/usr']);
  for (const dir of ['/lib', '/lib64']) {
    if (existsSync(dir) && !lstatSync(dir).isSymbolicLink()) paths.add(dir);
  }
  const nodePrefix = dirname(dirname(realpathSync(process.execPath)));
  if (![...paths].some((p) => !relative(p, nodePrefix).startsWith('..'))) paths.add(nodePrefix);
  return [...paths].map((path, i) => ({ tag: `share${i}`, path }));
}

/** Merged-/usr hosts have /lib -> usr/lib; the guest gets the same links so the loader path resolves. */
function guestLinks() {
  const links = [];
  for (const dir of ['/lib', '/lib64']) {
    if (existsSync(dir) && lstatSync(dir).isSymbolicLink()) links.push([dir, realpathSync(dir).slice(1)]);
  }
  return links;
}

/** test-vm/guest imports @ovl/* like any package; it is no workspace member, so link them here. */
function linkGuestDependencies() {
  const dir = join(here, 'guest/node_modules/@ovl');
  mkdirSync(dir, { recursive: true });
  for (const name of ['mountopts', 'syscall', 'overlay']) {
    const link = join(dir, name);
    rmSync(link, { force: true });
    symlinkSync(relative(dir, join(repo, 'packages', name)), link);
  }
}

/**
 * The guest's /tmp, where the tests make their stores: a fresh sparse ext4 image each run, as /tmp is
 * on a real disk file system on most hosts. tmpfs would not do: before 6.6 it stores no user.* xattrs,
 * which the overlay suite's fixtures set. Without mkfs.ext4 the guest falls back to tmpfs.
 */
function makeScratchDisk() {
  const path = join(work, 'scratch.ext4');
  rmSync(path, { force: true });
  writeFileSync(path, '');
  truncateSync(path, 8 * 1024 ** 3);
  // /usr/sbin is not on a normal user's PATH on Debian; mkfs.ext4 needs no root for an image file
  const bin = ['/usr/sbin/mkfs.ext4', '/sbin/mkfs.ext4'].find((p) => existsSync(p)) ?? 'mkfs.ext4';
  const args = ['-q', '-F', '-E', 'lazy_itable_init=1,lazy_journal_init=1', path];
  const mkfs = spawnSync(bin, args, { encoding: 'utf8' });
  if (mkfs.status === 0) return path;
  log(`mkfs.ext4 failed (${mkfs.error?.message ?? mkfs.stderr.trim()}); the guest's /tmp will be tmpfs`);
  rmSync(path, { force: true });
  return undefined;
}

function shellQuote(s) {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

async function main() {
  const qemu = findQemu();
  if (!qemu)
    unavailable('qemu-system-x86_64 not found (apt-get install qemu-system-x86, or set OVL_VM_QEMU)');
  log(`${qemu.version}`);

  let kernel;
  const tKernel = Date.now();
  try {
    kernel = ensureKernel(cache, log);
  } catch (error) {
    if (error instanceof VmUnavailableError) unavailable(error.message);
    throw error;
  }
  log(`kernel ${kernel.version} (${kernel.fresh ? `fetched in ${since(tKernel)}` : 'cached'})`);

  if (!opts.values['no-build']) {
    const tBuild = Date.now();
    const filters = ['@ovl/mountopts', '@ovl/syscall', '@ovl/overlay'].flatMap((p) => [
      '--filter',
      `${p}...`,
    ]);
    const build = spawnSync(
      'pnpm',
      ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only', ...filters],
      {
        cwd: repo,
        stdio: 'inherit',
      },
    );
    if (build.status !== 0) {
      log(`build failed (exit ${build.status}); fix it or pass --no-build`);
      process.exit(EXIT_FAIL);
    }
    log(`build done in ${since(tBuild)}`);
  }
  linkGuestDependencies();
  mkdirSync(work, { recursive: true });
  let runnerArgs = '';
  if (opts.values.runner === 'js') {
    const tJs = Date.now();
    const jsRoot = transpileSuites(repo, suites, join(work, 'js'));
    runnerArgs = `--js ${shellQuote(jsRoot)} `;
    log(`transpiled the suites to JavaScript in ${since(tJs)}`);
  }

  // Whatever is left of --timeout goes to the VM; the guest runner gets that minus a margin for boot
  // (about 30-40 s under TCG) and power-off, so it can report unfinished files before qemu is killed.
  const timeout = Number(opts.values.timeout) - (Date.now() - started) / 1000;
  const wantKvm = opts.values.accel === 'kvm' || (opts.values.accel === 'auto' && kvmUsable());
  const kvmTrial = wantKvm && opts.values.accel === 'auto' ? KVM_INIT_TIMEOUT : 0;
  const guestBudget = Math.floor(timeout - 75 - kvmTrial);
  if (guestBudget < 60) unavailable(`only ${timeout.toFixed(0)} s of --timeout left for the VM`);
  runnerArgs += `--budget ${guestBudget} --file-timeout ${Number(opts.values['file-timeout'])} `;
  runnerArgs += `--lanes ${Number(opts.values.lanes)} `;

  const tScratch = Date.now();
  const scratch = makeScratchDisk();
  if (scratch) log(`scratch disk for the guest's /tmp: 8 GiB sparse ext4 in ${since(tScratch)}`);

  const tInitrd = Date.now();
  const shares = guestShares();
  const initrd = join(work, 'initramfs.cpio');
  const modules = resolveModules(kernel.modulesDir, GUEST_MODULES);
  const env = [
    `OVL_SHARES=${shellQuote(shares.map((s) => `${s.tag}=${s.path}`).join(' '))}`,
    `OVL_CWD=${shellQuote(repo)}`,
    `OVL_COMMAND=${shellQuote(
      opts.values.command ??
        `${shellQuote(process.execPath)} test-vm/guest/run-tests.mjs ${runnerArgs}${suites.map(shellQuote).join(' ')}`,
    )}`,
    `OVL_SCRATCH=${scratch ? '/dev/vda' : ''}`,
    'export OVL_VM=1 NO_COLOR=1 FORCE_COLOR=0',
    '',
  ].join('\n');
  buildInitramfs({
    path: initrd,
    busybox: process.env.OVL_VM_BUSYBOX ?? '/usr/bin/busybox',
    init: readFileSync(join(here, 'guest/init.sh'), 'utf8'),
    env,
    modules,
    links: guestLinks(),
  });
  log(`initramfs with ${modules.map((m) => m.name).join(', ')} in ${since(tInitrd)}`);

  const bootOpts = {
    qemu: qemu.bin,
    kernel: kernel.vmlinuz,
    initrd,
    append: 'console=ttyS0 quiet loglevel=3 panic=-1 mitigations=off',
    shares,
    disks: scratch ? [scratch] : [],
    memoryMiB: Number(opts.values.memory),
    cpus: Math.max(1, Math.min(Number(opts.values.lanes), cpus().length)),
    timeout,
  };
  let result;
  let currentSuite;
  let commandStatus;
  const onLine = (line) => {
    if (line.startsWith('OVL-VM-RESULT ')) result = JSON.parse(line.slice('OVL-VM-RESULT '.length));
    const status = line.match(/^OVL-VM: exit (\d+)/)?.[1];
    if (status !== undefined) commandStatus = Number(status);
    const suite = line.match(/^OVL-VM-SUITE (\S+): \d+ test files/)?.[1];
    if (suite) currentSuite = suite;
    console.log(line);
  };
  let run;
  if (wantKvm) {
    log('booting with KVM');
    run = await boot({ ...bootOpts, accel: 'kvm', initTimeout: KVM_INIT_TIMEOUT, onLine });
    if (run.status === 'no-init') {
      const why = `with KVM the guest did not reach /init within ${KVM_INIT_TIMEOUT} s ${run.stderr.trim()}`;
      if (opts.values.accel === 'kvm') unavailable(why);
      log(`${why} (nested virtualization not working?); falling back to TCG`);
      run = undefined;
    }
  }
  if (!run) {
    log('booting with TCG (software emulation)');
    const remaining = Number(opts.values.timeout) - (Date.now() - started) / 1000;
    run = await boot({
      ...bootOpts,
      timeout: remaining,
      accel: 'tcg',
      initTimeout: TCG_INIT_TIMEOUT,
      onLine,
    });
  }
  log(`VM ran ${run.seconds.toFixed(1)} s (reached /init after ${run.initSeconds?.toFixed(1) ?? '-'} s)`);
  if (run.status === 'no-init')
    unavailable(
      `the guest did not reach /init (limit ${TCG_INIT_TIMEOUT} s; qemu exit ${run.code} after ${run.seconds.toFixed(1)} s)\n` +
        `${run.stderr}\nqemu ${run.args.join(' ')}`,
    );
  if (run.status === 'timeout' && !currentSuite)
    unavailable(`the guest did not start the suites within ${timeout.toFixed(0)} s (TCG too slow?)`);
  if (run.status === 'timeout') {
    log(`FAILED: the VM was stopped after ${timeout.toFixed(0)} s while running ${currentSuite}`);
    process.exit(EXIT_FAIL);
  }
  if (opts.values.command !== undefined) {
    log(`--command exited ${commandStatus ?? '(never: the guest stopped first)'} in the guest`);
    process.exit(commandStatus === 0 ? EXIT_PASS : EXIT_FAIL);
  }
  if (!result) {
    log(`FAILED: the guest stopped without a result line (qemu exit ${run.code})\n${run.stderr}`);
    process.exit(EXIT_FAIL);
  }
  const notRun = [];
  for (const s of result.suites) {
    const what = s.files
      ? `${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped`
      : 'no test files yet';
    log(`  ${s.dir.padEnd(20)} ${what}`);
    if (s.timedOut.length) log(`  ${''.padEnd(20)} timed out (counted failed): ${s.timedOut.join(', ')}`);
    if (s.notRun.length) log(`  ${''.padEnd(20)} NOT RUN, out of time: ${s.notRun.join(', ')}`);
    notRun.push(...s.notRun.map((f) => `${s.dir}/test/${f}`));
  }
  recordTotals(result);
  const totals = `${result.passed} passed, ${result.failed} failed, ${result.skipped} skipped on ${kernel.version}`;
  log(`${totals}; guest suites ${result.seconds.toFixed(0)} s, whole run ${since(started)}`);
  if (result.failed > 0) {
    log(`FAIL (exit ${EXIT_FAIL})`);
    process.exit(EXIT_FAIL);
  }
  if (notRun.length > 0)
    unavailable(
      `the VM was too slow to reach ${notRun.length} test files in time (raise --timeout or use KVM)`,
    );
  if (result.passed === 0) {
    log(`FAIL (exit ${EXIT_FAIL}): no test ran`);
    process.exit(EXIT_FAIL);
  }
  log(`PASS (exit ${EXIT_PASS})`);
  process.exit(EXIT_PASS);
}

/** For scripts/test-all.mjs, which adds every suite's totals into the run's one closing line. */
function recordTotals(result) {
  const dir = process.env.OVL_TEST_RESULTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const { passed, failed, skipped } = result;
  writeFileSync(
    join(dir, 'test-vm.json'),
    JSON.stringify({ total: passed + failed, passed, failed, skipped }),
  );
}

main().catch((error) => {
  log(`internal error: ${error.stack ?? error}`);
  process.exit(EXIT_FAIL);
});
