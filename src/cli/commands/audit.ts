// keymesh audit list|verify. `verify` reads the data dir's audit file directly (no node needed)
// and exits non-zero naming the first broken entry.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { verifyAuditFile } from '../../audit/log.js';
import { type Command, type Group, str } from '../args.js';
import { CliError, EXIT, makeClient } from '../client.js';
import { printJson, printTable } from '../output.js';

const commands: Command[] = [
  {
    name: 'list',
    summary: 'Read the audit log through a node, oldest first.',
    flags: {
      after: { type: 'string', arg: 'SEQ', integer: true, help: 'entries after this sequence number' },
      limit: { type: 'string', arg: 'N', integer: true, help: 'at most N entries, 1 to 1000 (default 100)' },
    },
    async run({ values: v }) {
      const q = new URLSearchParams();
      if (str(v.after)) q.set('after', str(v.after)!);
      if (str(v.limit)) q.set('limit', str(v.limit)!);
      const res = await makeClient(v).request<{ entries: Record<string, unknown>[] }>(
        'GET',
        `/v1/audit?${q}`,
      );
      if (v.json) return printJson(res);
      printTable(res.entries, ['seq', 'time', 'actor', 'action', 'keyId', 'outcome']);
    },
  },
  {
    name: 'verify',
    summary: "Check the hash chain of a data dir's audit log (reads the file; no node needed).",
    client: false,
    flags: {
      'data-dir': {
        type: 'string',
        arg: 'DIR',
        help: 'the data dir (or KEYMESH_DATA_DIR; default ./.keymesh)',
      },
      json: { type: 'boolean', help: 'machine-readable output' },
    },
    async run({ values: v }) {
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
    },
  },
];

export const auditGroup: Group = { name: 'audit', summary: 'The hash-chained audit log.', commands };
