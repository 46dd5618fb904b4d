// keymesh tokens create|list|revoke: one row per subcommand (args.ts reads them for parsing,
// checks and --help). Scopes are checked against the core's own table before anything is sent.
import { Scopes } from '../../core/auth/scopes.js';
import { type Command, type Group, list, str } from '../args.js';
import { makeClient } from '../client.js';
import { printJson, printObject, printTable } from '../output.js';

const commands: Command[] = [
  {
    name: 'create',
    summary: 'Create a token; its secret is shown this once (the node keeps only a hash).',
    flags: {
      name: { type: 'string', arg: 'NAME', required: true, help: 'what the token is for' },
      scope: {
        type: 'string',
        arg: 'SCOPE',
        multiple: true,
        required: true,
        choices: Scopes,
        help: 'a scope',
      },
      'key-id': { type: 'string', arg: 'ID', multiple: true, help: 'only these keys (default: every key)' },
      ttl: {
        type: 'string',
        arg: 'SECONDS',
        integer: true,
        help: 'expires after this long (default: never)',
      },
    },
    async run({ values: v }) {
      const body: Record<string, unknown> = { name: v.name, scopes: list(v.scope) };
      if (v['key-id']) body.keyIds = list(v['key-id']);
      if (str(v.ttl)) body.ttlSeconds = Number(v.ttl);
      const res = await makeClient(v).request<{ id: string; token: string }>('POST', '/v1/tokens', body);
      if (v.json) return printJson(res);
      printObject(res);
      process.stderr.write('The token is shown only this once; store it now.\n');
    },
  },
  {
    name: 'list',
    summary: 'List tokens (never their secrets).',
    flags: {},
    async run({ values: v }) {
      const res = await makeClient(v).request<{ tokens: Record<string, unknown>[] }>('GET', '/v1/tokens');
      if (v.json) return printJson(res);
      printTable(res.tokens, ['id', 'name', 'scopes', 'keyIds', 'expiresAt']);
    },
  },
  {
    name: 'revoke',
    summary: 'Revoke a token at once.',
    positionals: [{ name: 'ID', help: 'the token id (the part after kmt_, before the secret)' }],
    flags: {},
    async run({ values: v, positionals: [id] }) {
      await makeClient(v).request('DELETE', `/v1/tokens/${encodeURIComponent(id!)}`);
      if (v.json) return printJson({ revoked: id });
      process.stdout.write(`revoked ${id}\n`);
    },
  },
];

export const tokensGroup: Group = {
  name: 'tokens',
  summary: 'API tokens: scoped, shown once, revocable.',
  commands,
};
