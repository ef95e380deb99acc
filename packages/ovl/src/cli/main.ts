// The `ovl` command. Every command is a thin layer over the library calls, so scripts can do the
// same from Node; errors map to documented exit codes (exit-codes.ts) with a hint a user can act on.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { OvlError } from '../errors.js';
import { runCommand } from './commands.js';
import { EXIT, exitCodeOf, hintFor } from './exit-codes.js';
import { endProgressLine } from './progress.js';
import { USAGE } from './usage.js';

export interface CliContext {
  command: string;
  args: string[];
  store: string;
  driver: string;
  platform?: string;
  rw: boolean;
  oci?: string;
  ref?: string;
  tree: boolean;
  json: boolean;
  quiet: boolean;
  out: (text: string) => void;
}

function defaultStore(): string {
  if (process.env.OVL_STORE) return process.env.OVL_STORE;
  if (process.getuid?.() === 0) return '/var/lib/ovl';
  return join(process.env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'ovl');
}

export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    process.stderr.write(`ovl: ${(err as Error).message}\n\n${USAGE}`);
    return EXIT.USAGE;
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    process.stdout.write(USAGE);
    return positionals.length === 0 && !values.help ? EXIT.USAGE : EXIT.OK;
  }
  const [command = '', ...args] = positionals;
  const ctx: CliContext = {
    command,
    args,
    store: values.store ?? defaultStore(),
    driver: values.driver ?? process.env.OVL_DRIVER ?? 'auto',
    platform: values.platform,
    rw: !!values.rw,
    oci: values.oci,
    ref: values.ref,
    tree: !!values.tree,
    json: !!values.json,
    quiet: !!values.quiet,
    out: (text) => process.stdout.write(text),
  };
  try {
    await runCommand(ctx);
    return EXIT.OK;
  } catch (err) {
    const e = err as Error & { code?: string };
    endProgressLine();
    if (ctx.json) {
      process.stdout.write(
        `${JSON.stringify({ error: { code: e.code ?? 'ERR_OVL_UNKNOWN', message: e.message } })}\n`,
      );
    } else {
      process.stderr.write(`ovl ${command}: ${e.message}\n`);
      const hint = hintFor(err, ctx.driver);
      if (hint) process.stderr.write(`${hint}\n`);
      if (process.env.OVL_DEBUG && e.stack) process.stderr.write(`${e.stack}\n`);
    }
    if (err instanceof OvlError && err.code === 'ERR_OVL_USAGE') process.stderr.write(`\n${USAGE}`);
    return exitCodeOf(err);
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      store: { type: 'string' },
      driver: { type: 'string' },
      platform: { type: 'string' },
      rw: { type: 'boolean' },
      oci: { type: 'string' },
      ref: { type: 'string' },
      tree: { type: 'boolean' },
      json: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
