import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  chainIds,
  compatiblePlatforms,
  formatPlatform,
  hostPlatform,
  normalizePlatform,
  parsePlatform,
  platformRank,
} from '../src/index.js';
import { sha256 } from './fixtures.js';

const platform = suite('platforms (containerd rules)');

platform('names are normalized as containerd does', () => {
  const cases: Array<[string, string]> = [
    ['linux/x86_64', 'linux/amd64'],
    ['linux/amd64/v1', 'linux/amd64'],
    ['linux/aarch64', 'linux/arm64'],
    ['linux/arm64/v8', 'linux/arm64'],
    ['linux/arm64/8', 'linux/arm64'],
    ['linux/arm64/9', 'linux/arm64/v9'],
    ['linux/armhf', 'linux/arm/v7'],
    ['linux/armel', 'linux/arm/v6'],
    ['linux/arm', 'linux/arm/v7'],
    ['linux/arm/6', 'linux/arm/v6'],
    ['linux/i386', 'linux/386'],
    ['arm64', 'linux/arm64'],
    ['LINUX/AMD64', 'linux/amd64'],
  ];
  for (const [input, want] of cases) assert.is(formatPlatform(parsePlatform(input)), want, input);
  assert.equal(normalizePlatform({ os: 'linux', architecture: 'aarch64', variant: 'v8' }), {
    os: 'linux',
    architecture: 'arm64',
  });
});

platform('a machine also runs older variants, best first', () => {
  const fmt = (s: string) => compatiblePlatforms(parsePlatform(s)).map(formatPlatform);
  assert.equal(fmt('linux/amd64'), ['linux/amd64', 'linux/386']);
  assert.equal(fmt('linux/amd64/v3'), ['linux/amd64/v3', 'linux/amd64/v2', 'linux/amd64', 'linux/386']);
  assert.equal(fmt('linux/arm/v7'), ['linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5']);
  assert.equal(fmt('linux/arm64'), [
    'linux/arm64',
    'linux/arm/v8',
    'linux/arm/v7',
    'linux/arm/v6',
    'linux/arm/v5',
  ]);
  assert.equal(fmt('linux/arm64/v8.2'), [
    'linux/arm64/v8.2',
    'linux/arm64/v8.1',
    'linux/arm64',
    'linux/arm/v8',
    'linux/arm/v7',
    'linux/arm/v6',
    'linux/arm/v5',
  ]);
  assert.equal(fmt('linux/s390x'), ['linux/s390x']);
  assert.is(
    platformRank(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'arm', variant: 'v7' }),
    2,
  );
  assert.is(platformRank(parsePlatform('linux/arm/v7'), { os: 'linux', architecture: 'arm64' }), -1);
  assert.is(platformRank(parsePlatform('linux/amd64'), { os: 'windows', architecture: 'amd64' }), -1);
});

platform('the host platform uses OCI names', () => {
  const host = hostPlatform();
  assert.is(host.os, 'linux');
  const expected: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: '386', s390x: 's390x' };
  if (expected[process.arch]) assert.is(host.architecture, expected[process.arch]);
  assert.not.ok(host.architecture === 'x64' || host.architecture === 'aarch64');
});

const chain = suite('chain IDs (OCI image spec)');

chain('ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))', () => {
  const d = ['a', 'b', 'c'].map((x) => sha256(x));
  const c1 = sha256(`${d[0]} ${d[1]}`);
  const c2 = sha256(`${c1} ${d[2]}`);
  assert.equal(chainIds(d), [d[0], c1, c2]);
  assert.equal(chainIds([]), []);
  // The spec's worked example uses these literal strings.
  assert.is(chainIds(['sha256:aaaa', 'sha256:bbbb'])[1], sha256('sha256:aaaa sha256:bbbb'));
});

platform.run();
chain.run();
