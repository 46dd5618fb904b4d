#!/usr/bin/env node
// The `keymesh` command: start a node, or talk to one over HTTP. One line per error on stderr,
// non-zero exit codes (client.ts EXIT) so scripts can tell failures apart.
import { isKeymeshError } from '../errors.js';
import { CliError, EXIT } from './client.js';
import { auditCommand } from './commands/audit.js';
import { clusterCommand } from './commands/cluster.js';
import { keysCommand } from './commands/keys.js';
import { tokensCommand } from './commands/tokens.js';

const USAGE = `usage: keymesh <command>
  start [--dev] [--data-dir DIR] [--http HOST:PORT] [--unseal-passphrase-file FILE]
  keys create|import|list|get|sign|verify|state|destroy
  tokens create|list|revoke
  audit list|verify
  cluster status | remove-node ID | init --dir D | add-node --dir D --node-id ID --region R --level N
Client options: --url URL, --token T | --token-file F (or KEYMESH_TOKEN; default DIR/admin.token),
--data-dir DIR, --json`;

async function main(argv: string[]): Promise<void> {
  const [cmd, sub, ...rest] = argv;
  switch (cmd) {
    case 'start': {
      // Loaded only to run a node: the server, enclave and store modules take a third of a second
      // to load, which every client command (keys, tokens, audit) would otherwise pay.
      const { startCommand } = await import('./commands/start.js');
      return startCommand(argv.slice(1));
    }
    case 'keys':
      return keysCommand(sub, rest);
    case 'tokens':
      return tokensCommand(sub, rest);
    case 'audit':
      return auditCommand(sub, rest);
    case 'cluster':
      return clusterCommand(sub, rest);
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE + '\n');
      return;
    default:
      throw new CliError(USAGE, EXIT.usage, 'USAGE');
  }
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
