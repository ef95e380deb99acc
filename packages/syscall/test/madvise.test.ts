import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  adviseBuffer,
  bufferAddress,
  MADV_HUGEPAGE,
  MADV_NORMAL,
  MADV_WILLNEED,
  transparentHugePages,
} from '../src/index.js';

const test = suite('madvise on buffers, and the THP mode');
const HUGE = 2 << 20;

test('bufferAddress: a subarray lies at its byteOffset from the start of its buffer', () => {
  const buf = Buffer.allocUnsafeSlow(1 << 16);
  const base = bufferAddress(buf);
  assert.ok(base > 0n);
  assert.is(bufferAddress(buf.subarray(1234)) - base, 1234n);
  assert.is(bufferAddress(new Uint32Array(buf.buffer, 400, 4)) - base, 400n);
});

test('adviseBuffer: advises the aligned part inside the buffer and keeps its bytes', () => {
  const raw = Buffer.allocUnsafeSlow(6 << 20);
  for (let i = 0; i < raw.length; i += 4096) raw[i] = (i / 4096) & 0xff;
  const copy = Buffer.from(raw);
  const mode = transparentHugePages();
  let r: { offset: number; length: number };
  try {
    r = adviseBuffer(raw, MADV_HUGEPAGE, HUGE);
  } catch (err) {
    // A kernel without THP refuses MADV_HUGEPAGE with EINVAL; then there is no mode to report either.
    assert.is((err as { code?: string }).code, 'EINVAL');
    assert.is(mode, undefined, 'THP is reported while MADV_HUGEPAGE is refused');
    return;
  }
  assert.ok(r.offset >= 0 && r.offset < HUGE, `offset ${r.offset}`);
  assert.is(Number((bufferAddress(raw) + BigInt(r.offset)) % BigInt(HUGE)), 0, 'start is 2 MiB aligned');
  assert.is(r.length % HUGE, 0);
  assert.ok(r.length >= 4 << 20 && r.offset + r.length <= raw.length, `length ${r.length}`);
  assert.ok(raw.equals(copy), 'the advice changed the content');
  // Page-aligned advice on an unaligned view: inside the view, on page boundaries.
  const view = raw.subarray(100, 100 + 5 * 4096);
  const p = adviseBuffer(view, MADV_WILLNEED);
  assert.is(Number((bufferAddress(view) + BigInt(p.offset)) % 4096n), 0);
  assert.is(p.length, 4 * 4096);
  assert.equal(adviseBuffer(raw.subarray(1, 4000), MADV_NORMAL), { offset: 0, length: 0 });
});

test('adviseBuffer refuses advice that would drop or zero the memory, and bad alignments', () => {
  const buf = Buffer.allocUnsafeSlow(1 << 16);
  for (const advice of [4 /* DONTNEED */, 8 /* FREE */, 9 /* REMOVE */]) {
    assert.throws(() => adviseBuffer(buf, advice), /may change the buffer's content/);
  }
  assert.throws(() => adviseBuffer(buf, MADV_NORMAL, 1000), /power of two/);
  assert.throws(() => adviseBuffer(buf, MADV_NORMAL, 2048), /power of two of at least 4096/);
});

test("transparentHugePages: the bracketed word of sysfs's setting", () => {
  let text: string | undefined;
  try {
    text = readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8');
  } catch {
    assert.is(transparentHugePages(), undefined);
    return;
  }
  const mode = transparentHugePages();
  assert.ok(mode !== undefined && text.includes(`[${mode}]`), `${mode} in '${text.trim()}'`);
});

test.run();
