// keymesh tokens create|list|revoke
import { parse, str } from '../args.js';
import { CliError, EXIT, makeClient } from '../client.js';
import { printJson, printObject, printTable } from '../output.js';

export async function tokensCommand(sub: string | undefined, argv: string[]): Promise<void> {
  switch (sub) {
    case 'create': {
      const { values: v } = parse(
        argv,
        {
          name: { type: 'string' },
          scope: { type: 'string', multiple: true },
          'key-id': { type: 'string', multiple: true },
          ttl: { type: 'string' },
        },
        {
          min: 0,
          max: 0,
          usage: 'keymesh tokens create --name N --scope S [--scope S]... [--key-id ID]... [--ttl SECONDS]',
        },
      );
      const body: Record<string, unknown> = { name: v.name, scopes: v.scope ?? [] };
      if (v['key-id']) body.keyIds = v['key-id'];
      if (str(v.ttl)) body.ttlSeconds = Number(v.ttl);
      const res = await makeClient(v).request<{ id: string; token: string }>('POST', '/v1/tokens', body);
      if (v.json) return printJson(res);
      printObject(res);
      process.stderr.write('The token is shown only this once; store it now.\n');
      return;
    }
    case 'list': {
      const { values: v } = parse(argv, {}, { min: 0, max: 0, usage: 'keymesh tokens list' });
      const res = await makeClient(v).request<{ tokens: Record<string, unknown>[] }>('GET', '/v1/tokens');
      if (v.json) return printJson(res);
      return printTable(res.tokens, ['id', 'name', 'scopes', 'keyIds', 'expiresAt']);
    }
    case 'revoke': {
      const { values: v, positionals } = parse(
        argv,
        {},
        { min: 1, max: 1, usage: 'keymesh tokens revoke ID' },
      );
      await makeClient(v).request('DELETE', `/v1/tokens/${encodeURIComponent(positionals[0]!)}`);
      if (v.json) return printJson({ revoked: positionals[0] });
      process.stdout.write(`revoked ${positionals[0]}\n`);
      return;
    }
    default:
      throw new CliError('usage: keymesh tokens create|list|revoke ...', EXIT.usage, 'USAGE');
  }
}
