import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/plan-helper.ts', 'src/mount-thread.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  target: 'node20',
  sourcemap: true,
  // plan-helper (child process) and mount-thread (worker) are started by path; import.meta.url must work in the CJS build too
  shims: true,
});
