// keymesh audit list|verify. `verify` reads the data dir's audit file directly (no node needed)
// and exits non-zero naming the first broken entry.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { verifyAuditFile } from '../../audit/log.js';
import { parse, str } from '../args.js';
import { CliError, EXIT, makeClient } from '../client.js';
import { printJson, printTable } from '../output.js';

export async function auditCommand(sub: string | undefined, argv: string[]): Promise<void> {
  switch (sub) {
    case 'list': {
      const { values: v } = parse(
        argv,
        { after: { type: 'string' }, limit: { type: 'string' } },
        {
          min: 0,
          max: 0,
          usage: 'keymesh audit list [--after SEQ] [--limit N]',
        },
      );
      const q = new URLSearchParams();
      if (str(v.after)) q.set('after', str(v.after)!);
      if (str(v.limit)) q.set('limit', str(v.limit)!);
      const res = await makeClient(v).request<{ entries: Record<string, unknown>[] }>(
        'GET',
        `/v1/audit?${q}`,
      );
      if (v.json) return printJson(res);
      return printTable(res.entries, ['seq', 'time', 'actor', 'action', 'keyId', 'outcome']);
    }
    case 'verify': {
      const { values: v } = parse(argv, {}, { min: 0, max: 0, usage: 'keymesh audit verify --data-dir DIR' });
      const dir = resolve(str(v['data-dir']) ?? process.env.KEYMESH_DATA_DIR ?? './.keymesh');
      const file = join(dir, 'audit.db');
      if (!existsSync(file)) throw new CliError(`no audit log at ${file}`, EXIT.notFound, 'NOT_FOUND');
      const r = verifyAuditFile(file);
      if (v.json) printJson(r);
      if (!r.ok) {
        if (!v.json)
          process.stderr.write(`keymesh: audit chain broken at entry ${r.brokenAt}: ${r.reason}\n`);
        process.exitCode = EXIT.error;
        return;
      }
      if (!v.json) process.stdout.write(`audit log intact: ${r.count} entries\n`);
      return;
    }
    default:
      throw new CliError('usage: keymesh audit list|verify ...', EXIT.usage, 'USAGE');
  }
}
