// keymesh keys create|import|list|get|derive|sign|verify|state|destroy: one row per subcommand
// (args.ts reads the rows for parsing, checks and --help). Secrets (a private key, a mnemonic, a
// BIP39 passphrase) are read only from a file or stdin, never from a flag value, which would sit in
// the shell history and in every process listing.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { KeyStates } from '../../core/keys/states.js';
import { Algorithms } from '../../enclave/enclave.js';
import { type Command, type Flag, type Group, type Values, list, str } from '../args.js';
import { CliError, EXIT, makeClient } from '../client.js';
import { printJson, printObject, printTable } from '../output.js';

type Key = Record<string, unknown> & { id: string };

const SETTABLE_STATES = KeyStates.filter((s) => s !== 'destroyed');

const hexOf = (text: string) => '0x' + Buffer.from(text, 'utf8').toString('hex');
const keyPath = (id: string, rest = '') => `/v1/keys/${encodeURIComponent(id)}${rest}`;

/** A file's text, or stdin's for `-`; the bytes read are zeroed once the text is taken. */
export function readInput(path: string, what: string, opts: { keepSpaces?: boolean } = {}): string {
  let buf: Buffer;
  try {
    buf = readFileSync(path === '-' ? 0 : path);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new CliError(`cannot read the ${what} file ${resolve(path)}: ${why}`, EXIT.error);
  }
  // A BIP39 passphrase may begin or end with spaces that count; only the line end is dropped.
  const raw = buf.toString('utf8');
  const text = opts.keepSpaces ? raw.replace(/\r?\n$/, '') : raw.trim();
  buf.fill(0);
  if (!text)
    throw new CliError(`the ${what} ${path === '-' ? 'on stdin' : 'file'} is empty`, EXIT.usage, 'USAGE');
  return text;
}

/** The flags naming what to sign or verify, shared by sign and verify. */
const INPUT_FLAGS: Record<string, Flag> = {
  digest: { type: 'string', arg: '0xHEX', help: '32-byte digest, signed as given (ECDSA only)' },
  message: { type: 'string', arg: '0xHEX', help: 'message bytes (SHA-256 then ECDSA; Ed25519 as is)' },
  'message-text': { type: 'string', arg: 'TEXT', help: 'message as UTF-8 text' },
};

const PATH_FLAG: Flag = {
  type: 'string',
  arg: 'PATH',
  help: "HD roots: the child that signs, e.g. m/44'/60'/0'/0/0 (m: the master)",
};

export function withPath(body: Record<string, unknown>, v: Values): Record<string, unknown> {
  const p = str(v.path);
  return p === undefined ? body : { ...body, path: p };
}

function signInput(v: Values): Record<string, string> {
  const digest = str(v.digest);
  const message = str(v.message);
  const text = str(v['message-text']);
  const given = [digest, message, text].filter((x) => x !== undefined).length;
  if (given !== 1)
    throw new CliError('give exactly one of --digest, --message or --message-text', EXIT.usage, 'USAGE');
  if (digest !== undefined) return { digest };
  return { message: message ?? hexOf(text!) };
}

function labelsOf(v: Values): Record<string, string> {
  return Object.fromEntries(list(v.label).map((l) => splitLabel(l)));
}

function splitLabel(l: string): [string, string] {
  const i = l.indexOf('=');
  if (i < 1) throw new CliError('--label must be KEY=VALUE', EXIT.usage, 'USAGE');
  return [l.slice(0, i), l.slice(i + 1)];
}

function show(v: Values, key: Record<string, unknown>): void {
  if (v.json) return printJson(key);
  printObject(key);
}

const ID = { name: 'ID', help: 'the key id' };
const LABEL: Flag = { type: 'string', arg: 'KEY=VALUE', multiple: true, help: 'a label' };
const NAME: Flag = { type: 'string', arg: 'NAME', required: true, help: 'unique name of the key' };
const ALGORITHM: Flag = { type: 'string', arg: 'ALG', required: true, choices: Algorithms, help: 'curve' };

const commands: Command[] = [
  {
    name: 'create',
    summary: 'Create a key inside the enclave (the private key never leaves it unsealed).',
    flags: {
      name: NAME,
      algorithm: ALGORITHM,
      label: LABEL,
      hd: {
        type: 'boolean',
        help: 'an HD root (secp256k1 or ed25519) from a fresh BIP39 mnemonic held only inside',
      },
    },
    async run({ values: v }) {
      const body: Record<string, unknown> = { name: v.name, algorithm: v.algorithm, labels: labelsOf(v) };
      if (v.hd) body.hd = true;
      show(v, await makeClient(v).request<Key>('POST', '/v1/keys', body));
    },
  },
  {
    name: 'import',
    summary: 'Import a raw private key, or a BIP39 mnemonic as an HD root; sealed at once.',
    notes:
      'Give exactly one of --private-key-file and --mnemonic-file; "-" reads stdin. Secrets are\n' +
      'never taken from a flag value (it would stay in shell history and process listings).',
    flags: {
      name: NAME,
      algorithm: ALGORITHM,
      label: LABEL,
      'private-key-file': { type: 'string', arg: 'FILE|-', help: '32-byte private key as hex' },
      'mnemonic-file': { type: 'string', arg: 'FILE|-', help: 'BIP39 English mnemonic, 12 to 24 words' },
      'passphrase-file': { type: 'string', arg: 'FILE', help: 'optional BIP39 passphrase (with a mnemonic)' },
    },
    async run({ values: v }) {
      const pk = str(v['private-key-file']);
      const mn = str(v['mnemonic-file']);
      const pass = str(v['passphrase-file']);
      if ((pk === undefined) === (mn === undefined))
        throw new CliError(
          'give --private-key-file FILE or --mnemonic-file FILE (- for stdin), not both',
          EXIT.usage,
          'USAGE',
        );
      if (pass !== undefined && mn === undefined)
        throw new CliError('--passphrase-file goes with --mnemonic-file', EXIT.usage, 'USAGE');
      if (pass === '-') throw new CliError('--passphrase-file must name a file, not -', EXIT.usage, 'USAGE');
      const body: Record<string, unknown> = { name: v.name, algorithm: v.algorithm, labels: labelsOf(v) };
      if (pk !== undefined) {
        const hex = readInput(pk, 'private key');
        body.privateKey = hex.startsWith('0x') ? hex : `0x${hex}`;
      } else {
        body.mnemonic = readInput(mn!, 'mnemonic').split(/\s+/).join(' ');
        if (pass !== undefined) body.passphrase = readInput(pass, 'passphrase', { keepSpaces: true });
      }
      show(v, await makeClient(v).request<Key>('POST', '/v1/keys/import', body));
    },
  },
  {
    name: 'list',
    summary: 'List keys, a page at a time.',
    flags: {
      name: { type: 'string', arg: 'NAME', help: 'only the key of this name' },
      state: { type: 'string', arg: 'STATE', choices: KeyStates, help: 'only keys in this state' },
      limit: { type: 'string', arg: 'N', integer: true, help: 'page size, 1 to 1000 (default 100)' },
      cursor: { type: 'string', arg: 'C', help: 'the next page, from the previous answer' },
    },
    async run({ values: v }) {
      const q = new URLSearchParams();
      for (const k of ['name', 'state', 'limit', 'cursor']) if (str(v[k])) q.set(k, str(v[k])!);
      const res = await makeClient(v).request<{ keys: Key[]; nextCursor?: string }>('GET', `/v1/keys?${q}`);
      if (v.json) return printJson(res);
      printTable(res.keys, ['id', 'name', 'algorithm', 'state', 'createdAt']);
      if (res.nextCursor) process.stdout.write(`more: --cursor ${res.nextCursor}\n`);
    },
  },
  {
    name: 'get',
    summary: 'Show a key.',
    positionals: [ID],
    flags: {},
    async run({ values: v, positionals: [id] }) {
      show(v, await makeClient(v).request<Key>('GET', keyPath(id!)));
    },
  },
  {
    name: 'derive',
    summary: "An HD root's child at a path: its public key, addresses and (secp256k1) xpub.",
    positionals: [ID],
    flags: { path: { ...PATH_FLAG, required: true } },
    async run({ values: v, positionals: [id] }) {
      const q = new URLSearchParams({ path: str(v.path)! });
      show(v, await makeClient(v).request<Record<string, unknown>>('GET', keyPath(id!, `/derive?${q}`)));
    },
  },
  {
    name: 'sign',
    summary: 'Sign a digest or a message (RFC 6979 ECDSA, low-s; or Ed25519).',
    positionals: [ID],
    flags: { ...INPUT_FLAGS, path: PATH_FLAG },
    async run({ values: v, positionals: [id] }) {
      const res = await makeClient(v).request<Record<string, unknown>>(
        'POST',
        keyPath(id!, '/sign'),
        withPath(signInput(v), v),
      );
      show(v, res);
    },
  },
  {
    name: 'verify',
    summary: 'Verify a signature; exits 0 only when it is valid.',
    positionals: [ID],
    flags: {
      ...INPUT_FLAGS,
      signature: { type: 'string', arg: '0xHEX', required: true, help: 'the signature, 64 bytes r‖s' },
      path: PATH_FLAG,
    },
    async run({ values: v, positionals: [id] }) {
      const res = await makeClient(v).request<{ valid: boolean }>(
        'POST',
        keyPath(id!, '/verify'),
        withPath({ ...signInput(v), signature: v.signature }, v),
      );
      // The exit code tells valid from invalid whatever the output format, so scripts can rely on it.
      if (!res.valid) process.exitCode = EXIT.error;
      if (v.json) return printJson(res);
      process.stdout.write(res.valid ? 'valid\n' : 'invalid\n');
    },
  },
  {
    name: 'state',
    summary: 'Deactivate, reactivate or mark a key compromised (never back from compromised).',
    positionals: [ID, { name: 'STATE', help: 'the new state', choices: SETTABLE_STATES }],
    flags: {},
    async run({ values: v, positionals: [id, state] }) {
      show(v, await makeClient(v).request<Key>('POST', keyPath(id!, '/state'), { state }));
    },
  },
  {
    name: 'destroy',
    summary: 'Destroy a key: its sealed private key is erased, a tombstone remains.',
    positionals: [ID],
    flags: {},
    async run({ values: v, positionals: [id] }) {
      show(v, await makeClient(v).request<Key>('DELETE', keyPath(id!)));
    },
  },
];

export const keysGroup: Group = {
  name: 'keys',
  summary: 'Keys: create, import, use and retire them.',
  commands,
};
