import { main } from './main.js';

let settled = false;
main(process.argv.slice(2)).then(
  (code) => {
    settled = true;
    process.exitCode = code;
  },
  (err) => {
    settled = true;
    process.stderr.write(`ovl: ${err?.stack ?? err}\n`);
    process.exitCode = 1;
  },
);
// Node exits 0 when nothing is left to wait for, even with the command's promise still pending (a
// stream that never ended). That must never pass for success.
process.on('beforeExit', () => {
  if (!settled) {
    process.stderr.write(
      'ovl: internal error: the command stopped before it finished (a stream never ended)\n',
    );
    process.exit(1);
  }
});
