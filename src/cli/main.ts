#!/usr/bin/env node
// The `keymesh` command: start a node, or talk to one over HTTP. One line per error on stderr,
// non-zero exit codes (client.ts EXIT) so scripts can tell failures apart. Every client command
// is a row of a group table (commands/*.ts); `keymesh`'s help, each group's and each command's
// --help are generated from those rows (args.ts).
import { isKeymeshError } from '../errors.js';
import { VERSION } from '../version.js';
import { type Group, runGroup } from './args.js';
import { CliError, EXIT } from './client.js';
import { auditGroup } from './commands/audit.js';
import { bitcoinGroup, ethereumGroup } from './commands/chains.js';
import { clusterGroup } from './commands/cluster.js';
import { keysGroup } from './commands/keys.js';
import { tokensGroup } from './commands/tokens.js';

const GROUPS: readonly Group[] = [
  keysGroup,
  ethereumGroup,
  bitcoinGroup,
  tokensGroup,
  auditGroup,
  clusterGroup,
];

function usage(): string {
  const w = Math.max(...GROUPS.map((g) => g.name.length), 'start'.length);
  return [
    'usage: keymesh <command> [flags]',
    '',
    `  ${'start'.padEnd(w)}  run a node (keymesh start --help)`,
    ...GROUPS.map((g) => `  ${g.name.padEnd(w)}  ${g.commands.map((c) => c.name).join('|')}`),
    '',
    'keymesh COMMAND --help and keymesh COMMAND SUBCOMMAND --help list the flags;',
    'keymesh --version prints the version.',
  ].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const [cmd, sub, ...rest] = argv;
  switch (cmd) {
    case 'start': {
      // Loaded only to run a node: the server, enclave and store modules take a third of a second
      // to load, which every client command (keys, tokens, audit) would otherwise pay.
      const { startCommand } = await import('./commands/start.js');
      return startCommand(argv.slice(1));
    }
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(usage() + '\n');
      return;
    case 'version':
    case '--version':
    case '-V':
      process.stdout.write(`keymesh ${VERSION}\n`);
      return;
  }
  const group = GROUPS.find((g) => g.name === cmd);
  if (!group) throw new CliError(usage(), EXIT.usage, 'USAGE');
  return runGroup(group, sub, rest);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  // Exiting anyway: a stderr that cannot be written must not turn the exit code into a crash.
  process.stderr.on('error', () => undefined);
  if (e instanceof CliError) {
    process.stderr.write(
      `keymesh: ${e.code === 'USAGE' || e.code === 'ERROR' ? '' : e.code + ': '}${e.message}\n`,
    );
    process.exitCode = e.exitCode;
  } else if (isKeymeshError(e)) {
    process.stderr.write(`keymesh: ${e.code}: ${e.shortMessage}\n`);
    process.exitCode = EXIT.error;
  } else {
    // Anything else as one line: an Error's message, an object's message or code, never
    // `[object Object]` or a stack.
    const o = typeof e === 'object' && e !== null ? (e as { message?: unknown; code?: unknown }) : {};
    const text = typeof o.message === 'string' ? o.message : typeof o.code === 'string' ? o.code : String(e);
    const line = text.replace(/\s+/g, ' ').trim().slice(0, 500);
    process.stderr.write(
      `keymesh: ${line.length > 0 && line !== '[object Object]' ? line : 'failed for an unknown reason'}\n`,
    );
    process.exitCode = EXIT.error;
  }
});
