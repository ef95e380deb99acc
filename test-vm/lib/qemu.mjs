// Runs the guest in qemu-system-x86_64 with the serial console on a pipe. The host learns about the
// guest only from that console: "OVL-VM: init" proves the kernel reached /init, the runner's
// "OVL-VM-RESULT" line carries the totals. Two clocks guard the run: one until /init speaks (a hung
// KVM or a far too slow TCG), one for the whole run.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

export function findQemu() {
  const bin = process.env.OVL_VM_QEMU ?? 'qemu-system-x86_64';
  const probe = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return undefined;
  return { bin, version: probe.stdout.split('\n')[0] };
}

export function kvmUsable() {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Boots once. Resolves { status: 'exited' | 'no-init' | 'timeout', code, seconds, initSeconds }.
 * `onLine` sees every console line as it arrives.
 */
export function boot({
  qemu,
  accel,
  kernel,
  initrd,
  append,
  shares,
  disks = [],
  memoryMiB,
  cpus,
  initTimeout,
  timeout,
  onLine,
}) {
  const args = [
    '-machine',
    'q35',
    ...(accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg,thread=multi', '-cpu', 'max']),
    '-smp',
    String(cpus),
    '-m',
    String(memoryMiB),
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-serial',
    'stdio',
    '-nic',
    'none',
    '-no-reboot',
    '-kernel',
    kernel,
    '-initrd',
    initrd,
    '-append',
    append,
  ];
  for (const { tag, path } of shares) {
    args.push(
      '-virtfs',
      `local,path=${path},mount_tag=${tag},security_model=none,readonly=on,multidevs=remap`,
    );
  }
  // cache=unsafe: the scratch disk is thrown away after the run, so flushes need not reach the host
  for (const file of disks) args.push('-drive', `file=${file},format=raw,if=virtio,cache=unsafe`);
  const started = Date.now();
  const child = spawn(qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve) => {
    let status = 'exited';
    let initSeconds;
    let pending = '';
    let stderr = '';
    const seconds = () => (Date.now() - started) / 1000;
    const kill = (why) => {
      status = why;
      child.kill('SIGKILL');
    };
    const initTimer = setTimeout(() => kill('no-init'), initTimeout * 1000);
    const runTimer = setTimeout(() => kill('timeout'), timeout * 1000);
    // the serial line delivers a byte at a time: decode as a stream so UTF-8 survives the splits
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      pending += chunk.replace(/\r/g, '');
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) {
        if (initSeconds === undefined && line.startsWith('OVL-VM: init')) {
          initSeconds = seconds();
          clearTimeout(initTimer);
        }
        onLine(line);
      }
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('close', (code) => {
      clearTimeout(initTimer);
      clearTimeout(runTimer);
      if (pending) onLine(pending);
      // qemu that quits before /init speaks (no KVM module, bad option) is the same case as a silent one
      if (initSeconds === undefined && status === 'exited') status = 'no-init';
      resolve({ status, code, seconds: seconds(), initSeconds, stderr, args });
    });
    child.on('error', (error) => {
      stderr += String(error);
    });
  });
}
