// The layer files of the aufs driver on a real disk, against the recorded syscalls: diff, applyDiff,
// diffSize and changes. The scenarios live in scenarios-layers.ts; real-aufs.test.ts runs them on aufs.
import { suite } from 'uvu';
import { recordedHarness, register } from './harness.js';
import { layerScenarios } from './scenarios-layers.js';

const Layers = suite('diff, applyDiff, changes and diffSize');

register(Layers, recordedHarness, layerScenarios);

Layers.run();
