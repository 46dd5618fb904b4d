// keymesh start: run a node until SIGINT/SIGTERM, then drain and exit 0. Without --dev the unseal
// passphrase is read from a file or an interactive prompt, never from a flag or the environment.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { loadConfig, type StartFlags } from '../../config.js';
import { startNode } from '../../node.js';
import { CliError, EXIT } from '../client.js';

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
} as const;

export async function startCommand(argv: string[]): Promise<void> {
  let flags: StartFlags;
  try {
    flags = parseArgs({ args: argv, options: OPTIONS, strict: true }).values as StartFlags;
  } catch (e) {
    throw new CliError(`${(e as Error).message}\nusage: keymesh start [--dev] [--data-dir DIR] [--http HOST:PORT] ...`, EXIT.usage, 'USAGE');
  }
  let config;
  try {
    config = loadConfig(flags);
  } catch (e) {
    throw new CliError((e as Error).message, EXIT.usage, 'USAGE');
  }
  const passphrase = config.dev ? undefined : await readPassphrase(config.unsealPassphraseFile);
  const node = await startNode(config, passphrase ? { passphrase } : {});

  let signalled = false;
  const onSignal = (sig: string) => {
    if (signalled) return;
    signalled = true;
    process.stderr.write(`keymesh: ${sig} received, finishing in-flight requests\n`);
    node.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`keymesh: error while stopping: ${(e as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
}

async function readPassphrase(file: string | undefined): Promise<Uint8Array> {
  if (file) {
    const buf = readFileSync(file);
    let end = buf.length;
    while (end > 0 && (buf[end - 1] === 0x0a || buf[end - 1] === 0x0d)) end--;
    const out = new Uint8Array(buf.subarray(0, end));
    buf.fill(0);
    if (out.length === 0) throw new CliError('the unseal passphrase file is empty', EXIT.usage, 'USAGE');
    return out;
  }
  if (!process.stdin.isTTY)
    throw new CliError(
      'refusing to start unsealed: give --unseal-passphrase-file FILE, run interactively, or use --dev',
      EXIT.usage,
      'USAGE',
    );
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  // Echo off: the readline writes nothing while the passphrase is typed.
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => undefined;
  process.stderr.write('Unseal passphrase: ');
  const line = await new Promise<string>((res) => rl.question('', res));
  rl.close();
  process.stderr.write('\n');
  if (line.length === 0) throw new CliError('empty passphrase', EXIT.usage, 'USAGE');
  return new Uint8Array(Buffer.from(line, 'utf8'));
}
