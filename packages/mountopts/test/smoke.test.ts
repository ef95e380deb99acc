import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as m from '../src/index.js';
test('loads', () => { assert.type(m, 'object'); });
test.run();
