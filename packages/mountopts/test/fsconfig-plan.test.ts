import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FSCONFIG_VALUE_MAX, type FsconfigStep, type MountCallStep, planOverlayMount } from '../src/index.js';
import { hexId, STORE, throwsCode } from './helpers.js';

const _mountStep = (p: { steps: unknown[] }) => p.steps[0] as MountCallStep;
const layers = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

const _me = `${STORE}/${hexId(999)}`;
const deep = layers(80, (i) => `${STORE}/${hexId(i)}/diff`);

const fsconfig = suite('planOverlayMount: fsconfig values');
const at = (n: number) => `/${'p'.repeat(n - 1)}`;
fsconfig(
  `a value of ${FSCONFIG_VALUE_MAX} bytes goes as a string, ${FSCONFIG_VALUE_MAX + 1} does not`,
  () => {
    const ok = planOverlayMount({ target: '/m', lowers: [at(255), '/z'], strategy: 'fsconfig' });
    assert.equal((ok.steps[0] as FsconfigStep).params, [
      { type: 'string', key: 'lowerdir+', value: at(255) },
      { type: 'string', key: 'lowerdir+', value: '/z' },
    ]);
    const e = throwsCode(
      () => planOverlayMount({ target: '/m', lowers: [at(256), '/z'], strategy: 'fsconfig' }),
      'ERR_OVL_DATA_TOO_LONG',
    );
    assert.is(e.path, at(256));
  },
);
fsconfig('a label or option value over 255 bytes cannot go through fsconfig', () => {
  const e = throwsCode(
    () =>
      planOverlayMount({ target: '/m', lowers: ['/a', '/z'], label: 'x'.repeat(256), strategy: 'fsconfig' }),
    'ERR_OVL_BAD_OPTION',
  );
  assert.match(e.message, 'context');
});
fsconfig('a long path goes by its link name, from the home', () => {
  const plan = planOverlayMount({
    target: '/m',
    lowers: ['/short', at(300)],
    links: { home: '/s', names: ['l/A', 'l/B'] },
    strategy: 'fsconfig',
  });
  const step = plan.steps[0] as FsconfigStep;
  assert.equal(step.params, [
    { type: 'string', key: 'lowerdir+', value: '/short' },
    { type: 'string', key: 'lowerdir+', value: 'l/B' },
  ]);
  assert.is(step.cwd, '/s');
});
fsconfig('kernel.setFd: long paths go as descriptors; setFd alone enables fsconfig in auto', () => {
  const plan = planOverlayMount({
    target: '/m',
    lowers: [...deep, at(300)],
    dataOnlyLowers: [at(400)],
    upper: at(260),
    work: '/w',
    kernel: { setFd: true },
    options: { volatile: true, index: 'off' },
  });
  assert.is(plan.strategy, 'fsconfig');
  const params = (plan.steps[0] as FsconfigStep).params;
  assert.equal(params.slice(-7), [
    { type: 'fd', key: 'lowerdir+', path: at(300) },
    { type: 'fd', key: 'datadir+', path: at(400) },
    { type: 'fd', key: 'upperdir', path: at(260) },
    { type: 'string', key: 'workdir', value: '/w' },
    { type: 'flag', key: 'volatile' },
    { type: 'string', key: 'index', value: 'off' },
    { type: 'string', key: 'metacopy', value: 'on' },
  ]);
});
fsconfig.run();
