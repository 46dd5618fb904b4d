// keymesh start: run a node until SIGINT/SIGTERM, then drain and exit 0. Without --dev the unseal
// passphrase is read from a file or an interactive prompt, never from a flag or the environment.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { loadConfig, type StartFlags } from '../../config.js';
import { type RunningNode, startNode } from '../../node.js';
import { CliError, EXIT } from '../client.js';
import { logLine } from '../../log/sink.js';
import { startHelp } from '../start-help.js';

const OPTIONS = {
  'data-dir': { type: 'string' },
  http: { type: 'string' },
  kmip: { type: 'string' },
  dev: { type: 'boolean' },
  'node-id': { type: 'string' },
  'unseal-passphrase-file': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'log-level': { type: 'string' },
  'enclave-threads': { type: 'string' },
  cluster: { type: 'string' },
  region: { type: 'string' },
  level: { type: 'string' },
  peer: { type: 'string' },
  'cluster-dir': { type: 'string' },
  'chain-id': { type: 'string' },
  'max-connections': { type: 'string' },
  'max-connections-per-ip': { type: 'string' },
  'idle-timeout': { type: 'string' },
  'headers-timeout': { type: 'string' },
  'request-timeout': { type: 'string' },
  'shutdown-timeout': { type: 'string' },
} as const;

/** Past the HTTP drain, what is left to close (audit, enclave, store) gets this long before exit 1. */
const FLUSH_GRACE_MS = 10_000;

export async function startCommand(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(startHelp(OPTIONS));
    return;
  }
  let flags: StartFlags;
  try {
    flags = parseArgs({ args: argv, options: OPTIONS, strict: true }).values as StartFlags;
  } catch (e) {
    throw new CliError(
      `${(e as Error).message}\nusage: keymesh start [--dev] [--data-dir DIR] [--http HOST:PORT] ...`,
      EXIT.usage,
      'USAGE',
    );
  }
  let config;
  try {
    config = loadConfig(flags);
  } catch (e) {
    throw new CliError((e as Error).message, EXIT.usage, 'USAGE');
  }
  const passphrase = config.dev ? undefined : await readPassphrase(config.unsealPassphraseFile);
  // Everything the node creates in its data dir is owner-only: not just the files it writes itself
  // with 0600 (admin.token, the dev sealing key) but also the SQLite databases and their WAL and
  // SHM files, which SQLite would otherwise create 0644 (readable ciphertext, audit and token hashes).
  process.umask(0o077);
  // The signal handlers go in before the node starts: until a handler exists a SIGTERM or SIGINT
  // kills the process outright, and the ready line is printed before startNode returns, so a
  // supervisor that stops the node as soon as it is ready would otherwise cut it down mid-flight.
  // A signal that arrives while the node is starting stops it as soon as it is up.
  const state: { node?: RunningNode; signalled: boolean } = { signalled: false };
  const limits = config.httpLimits;
  const stop = (n: RunningNode) => {
    // The HTTP listeners cut what is still open after --shutdown-timeout (src/api/http/edge.ts);
    // this is the last resort should anything else hang, so that a stop always ends.
    setTimeout(() => {
      logLine(
        `keymesh: did not stop within ${(limits.shutdownTimeoutMs + FLUSH_GRACE_MS) / 1000} s; exiting`,
      );
      process.exit(1);
    }, limits.shutdownTimeoutMs + FLUSH_GRACE_MS).unref();
    return n.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        logLine(`keymesh: error while stopping: ${(e as Error).message}`);
        process.exit(1);
      },
    );
  };
  const onSignal = (sig: string) => {
    if (state.signalled) return;
    state.signalled = true;
    logLine(
      `keymesh: ${sig} received, finishing in-flight requests (at most ${limits.shutdownTimeoutMs / 1000} s)`,
    );
    if (state.node) void stop(state.node);
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  state.node = await startNode(config, passphrase ? { passphrase } : {});
  if (state.signalled) void stop(state.node);
}

/** Where an interactive passphrase is read from and the prompt written to (a test can pass its own). */
export interface PromptIo {
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  output: NodeJS.WritableStream;
}

/** Exit code for a start interrupted at the prompt (128 + SIGINT, as shells report it). */
export const EXIT_INTERRUPTED = 130;

export async function readPassphrase(
  file: string | undefined,
  io: PromptIo = { input: process.stdin, output: process.stderr },
): Promise<Uint8Array> {
  if (file) {
    const buf = readFileSync(file);
    let end = buf.length;
    while (end > 0 && (buf[end - 1] === 0x0a || buf[end - 1] === 0x0d)) end--;
    const out = new Uint8Array(buf.subarray(0, end));
    buf.fill(0);
    if (out.length === 0) throw new CliError('the unseal passphrase file is empty', EXIT.usage, 'USAGE');
    return out;
  }
  if (!io.input.isTTY)
    throw new CliError(
      'refusing to start unsealed: give --unseal-passphrase-file FILE, run interactively, or use --dev',
      EXIT.usage,
      'USAGE',
    );
  const rl = createInterface({ input: io.input, output: io.output, terminal: true });
  // Echo off: the readline writes nothing while the passphrase is typed.
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => undefined;
  io.output.write('Unseal passphrase: ');
  let line: string;
  try {
    // Ctrl-C and Ctrl-D must end the start with a failure: without these handlers readline just
    // closes, the question never resolves, and the process exits 0 having started nothing.
    line = await new Promise<string>((res, rej) => {
      rl.on('SIGINT', () =>
        rej(new CliError('interrupted at the unseal passphrase prompt', EXIT_INTERRUPTED)),
      );
      rl.on('close', () => rej(new CliError('no unseal passphrase was given', EXIT.usage, 'USAGE')));
      rl.question('', res);
    });
  } finally {
    rl.close();
    io.output.write('\n');
  }
  if (line.length === 0) throw new CliError('empty passphrase', EXIT.usage, 'USAGE');
  return new Uint8Array(Buffer.from(line, 'utf8'));
}
