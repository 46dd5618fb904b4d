// GET /v1/audit (audit.list): the node's audit entries after a sequence number, in order, a
// bounded page at a time. The entries come from the node's own log (src/audit/log.ts).
import type { AuditEntry } from '../../audit/chain.js';
import { invalid } from '../../errors.js';
import type { OpContext } from '../context.js';

export interface ListAuditInput {
  /** Entries with a greater sequence number; default 0 (from the start). */
  after?: number | string;
  /** 1 to 1000; default 100. */
  limit?: number | string;
}

export async function listAudit(ctx: OpContext, q: ListAuditInput): Promise<{ entries: AuditEntry[] }> {
  const after = q.after === undefined ? 0 : Number(q.after);
  const limit = q.limit === undefined ? 100 : Number(q.limit);
  if (!Number.isSafeInteger(after) || after < 0) throw invalid('after must be a whole number, 0 or more');
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw invalid('limit must be a whole number from 1 to 1000');
  return { entries: ctx.deps.audit.list(after, limit) };
}
