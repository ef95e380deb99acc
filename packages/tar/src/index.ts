export * from './changes/index.js';
export * from './diff/index.js';
export * from './errors.js';
export * from './whiteouts.js';
