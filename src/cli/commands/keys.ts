// keymesh keys create|import|list|get|sign|verify|state|destroy
import { readFileSync } from 'node:fs';
import { parse, str } from '../args.js';
import { CliError, EXIT, makeClient } from '../client.js';
import { printJson, printObject, printTable } from '../output.js';

type Key = Record<string, unknown> & { id: string };

const hexOf = (text: string) => '0x' + Buffer.from(text, 'utf8').toString('hex');

function readSecretFile(path: string): string {
  const raw = path === '-' ? readFileSync(0, 'utf8') : readFileSync(path, 'utf8');
  const v = raw.trim();
  return v.startsWith('0x') ? v : `0x${v}`;
}

function signInput(v: Parsed['values']): Record<string, string> {
  const digest = str(v.digest);
  const message = str(v.message);
  const text = str(v['message-text']);
  const given = [digest, message, text].filter((x) => x !== undefined).length;
  if (given !== 1)
    throw new CliError('give exactly one of --digest, --message or --message-text', EXIT.usage, 'USAGE');
  if (digest !== undefined) return { digest };
  return { message: message ?? hexOf(text!) };
}

type Parsed = ReturnType<typeof parse>;

export async function keysCommand(sub: string | undefined, argv: string[]): Promise<void> {
  switch (sub) {
    case 'create': {
      const { values: v } = parse(
        argv,
        {
          name: { type: 'string' },
          algorithm: { type: 'string' },
          label: { type: 'string', multiple: true },
        },
        {
          min: 0,
          max: 0,
          usage: 'keymesh keys create --name NAME --algorithm secp256k1|ed25519|p256 [--label k=v]...',
        },
      );
      const labels = Object.fromEntries(((v.label as string[] | undefined) ?? []).map((l) => splitLabel(l)));
      const key = await makeClient(v).request<Key>('POST', '/v1/keys', {
        name: v.name,
        algorithm: v.algorithm,
        labels,
      });
      return show(v, key);
    }
    case 'import': {
      const { values: v } = parse(
        argv,
        { name: { type: 'string' }, algorithm: { type: 'string' }, 'private-key-file': { type: 'string' } },
        {
          min: 0,
          max: 0,
          usage: 'keymesh keys import --name NAME --algorithm ALG --private-key-file FILE|-',
        },
      );
      const file = str(v['private-key-file']);
      if (!file)
        throw new CliError('--private-key-file is required (a file, or - for stdin)', EXIT.usage, 'USAGE');
      const key = await makeClient(v).request<Key>('POST', '/v1/keys/import', {
        name: v.name,
        algorithm: v.algorithm,
        privateKey: readSecretFile(file),
      });
      return show(v, key);
    }
    case 'list': {
      const { values: v } = parse(
        argv,
        {
          name: { type: 'string' },
          state: { type: 'string' },
          limit: { type: 'string' },
          cursor: { type: 'string' },
        },
        { min: 0, max: 0, usage: 'keymesh keys list [--name N] [--state S] [--limit N] [--cursor C]' },
      );
      const q = new URLSearchParams();
      for (const k of ['name', 'state', 'limit', 'cursor']) if (str(v[k])) q.set(k, str(v[k])!);
      const res = await makeClient(v).request<{ keys: Key[]; nextCursor?: string }>('GET', `/v1/keys?${q}`);
      if (v.json) return printJson(res);
      printTable(res.keys, ['id', 'name', 'algorithm', 'state', 'createdAt']);
      if (res.nextCursor) process.stdout.write(`more: --cursor ${res.nextCursor}\n`);
      return;
    }
    case 'get': {
      const { values: v, positionals } = parse(argv, {}, { min: 1, max: 1, usage: 'keymesh keys get ID' });
      return show(
        v,
        await makeClient(v).request<Key>('GET', `/v1/keys/${encodeURIComponent(positionals[0]!)}`),
      );
    }
    case 'sign': {
      const { values: v, positionals } = parse(
        argv,
        { digest: { type: 'string' }, message: { type: 'string' }, 'message-text': { type: 'string' } },
        { min: 1, max: 1, usage: 'keymesh keys sign ID --digest 0x..|--message 0x..|--message-text TEXT' },
      );
      const res = await makeClient(v).request<Record<string, unknown>>(
        'POST',
        `/v1/keys/${encodeURIComponent(positionals[0]!)}/sign`,
        signInput(v),
      );
      return v.json ? printJson(res) : printObject(res);
    }
    case 'verify': {
      const { values: v, positionals } = parse(
        argv,
        {
          digest: { type: 'string' },
          message: { type: 'string' },
          'message-text': { type: 'string' },
          signature: { type: 'string' },
        },
        {
          min: 1,
          max: 1,
          usage: 'keymesh keys verify ID (--digest|--message|--message-text) X --signature 0x..',
        },
      );
      const res = await makeClient(v).request<{ valid: boolean }>(
        'POST',
        `/v1/keys/${encodeURIComponent(positionals[0]!)}/verify`,
        { ...signInput(v), signature: v.signature },
      );
      // The exit code tells valid from invalid whatever the output format, so scripts can rely on it.
      if (!res.valid) process.exitCode = EXIT.error;
      if (v.json) return printJson(res);
      process.stdout.write(res.valid ? 'valid\n' : 'invalid\n');
      return;
    }
    case 'state': {
      const { values: v, positionals } = parse(
        argv,
        {},
        {
          min: 2,
          max: 2,
          usage: 'keymesh keys state ID active|deactivated|compromised',
        },
      );
      return show(
        v,
        await makeClient(v).request<Key>('POST', `/v1/keys/${encodeURIComponent(positionals[0]!)}/state`, {
          state: positionals[1],
        }),
      );
    }
    case 'destroy': {
      const { values: v, positionals } = parse(
        argv,
        {},
        { min: 1, max: 1, usage: 'keymesh keys destroy ID' },
      );
      return show(
        v,
        await makeClient(v).request<Key>('DELETE', `/v1/keys/${encodeURIComponent(positionals[0]!)}`),
      );
    }
    default:
      throw new CliError(
        'usage: keymesh keys create|import|list|get|sign|verify|state|destroy ...',
        EXIT.usage,
        'USAGE',
      );
  }
}

function splitLabel(l: string): [string, string] {
  const i = l.indexOf('=');
  if (i < 1) throw new CliError(`--label must be key=value, got ${l}`, EXIT.usage, 'USAGE');
  return [l.slice(0, i), l.slice(i + 1)];
}

function show(v: Parsed['values'], key: Key): void {
  if (v.json) return printJson(key);
  printObject(key);
}
