// Thread nice values: gettid, setThreadNice, threadNice, threadIds — checked in a fresh process (so that
// this one keeps its priorities) against the kernel's own record in /proc/self/task/<tid>/stat.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { gettid, SyscallError, setThreadNice, threadIds, threadNice } from '../src/index.js';

const test = suite('thread priorities');
const SRC = join(import.meta.dirname, '../src/index.js');

test('gettid is the process id on the main thread; threadIds lists it with the helper threads', () => {
  assert.is(gettid(), process.pid);
  const ids = threadIds();
  assert.ok(ids.includes(process.pid));
  assert.ok(ids.length > 1, `Node runs helper threads: ${ids.length}`);
  assert.is(threadNice(process.pid), Number(statNice(process.pid)));
});

test('setThreadNice changes one thread only, as the kernel reports it', () => {
  const script = `
    import { gettid, setThreadNice, threadIds, threadNice } from ${JSON.stringify(SRC)};
    import { readFileSync } from 'node:fs';
    const stat = (t) => { const s = readFileSync('/proc/self/task/' + t + '/stat', 'utf8'); return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[16]); };
    const me = gettid();
    const other = threadIds().find((t) => t !== me);
    setThreadNice(other, 7);
    setThreadNice(me, 3);
    console.log(JSON.stringify({ other: threadNice(other), otherStat: stat(other), me: threadNice(me), meStat: stat(me),
      rest: threadIds().filter((t) => t !== me && t !== other).map((t) => threadNice(t)) }));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    cwd: join(import.meta.dirname, '..'),
  });
  assert.is(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assert.is(got.other, 7);
  assert.is(got.otherStat, 7);
  assert.is(got.me, 3);
  assert.is(got.meStat, 3);
  assert.ok(
    (got.rest as number[]).every((n) => n === 0),
    `the other threads keep nice 0: ${got.rest}`,
  );
});

test('bad arguments are RangeErrors; a thread that does not exist is ESRCH', () => {
  assert.throws(() => setThreadNice(process.pid, 20), RangeError);
  assert.throws(() => setThreadNice(process.pid, 1.5), RangeError);
  assert.throws(() => setThreadNice(0, 1), RangeError);
  try {
    setThreadNice(2 ** 31 - 2, 1);
    assert.unreachable();
  } catch (err) {
    assert.instance(err, SyscallError);
    assert.is((err as SyscallError).code, 'ESRCH');
    assert.is((err as SyscallError).syscall, 'setpriority');
  }
});

/** Field 19 of /proc/<pid>/task/<tid>/stat, read without the module under test. */
function statNice(tid: number): string {
  const s = spawnSync('cat', [`/proc/${process.pid}/task/${tid}/stat`], { encoding: 'utf8' }).stdout;
  return s.slice(s.lastIndexOf(')') + 2).split(' ')[16]!;
}

test.run();
