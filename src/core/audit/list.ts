// Reading the audit log (GET /v1/audit, `keymesh audit list`): a page of entries after a sequence
// number. The query arrives as the interface parsed it (strings from a URL, numbers from code), so
// both are checked here, once.
import type { AuditEntry } from '../../audit/chain.js';
import { invalid } from '../../errors.js';
import type { OpContext } from '../context.js';

export interface ListAuditInput {
  /** Entries with a greater sequence number; default 0 (from the start). */
  after?: number | string;
  /** 1 to AUDIT_PAGE_MAX; default 100. */
  limit?: number | string;
}

export const AUDIT_PAGE_MAX = 1000;

export function listAudit(ctx: OpContext, q: ListAuditInput): { entries: AuditEntry[] } {
  const after = q.after === undefined ? 0 : Number(q.after);
  const limit = q.limit === undefined ? 100 : Number(q.limit);
  if (!Number.isSafeInteger(after) || after < 0) throw invalid('after must be a whole number, 0 or more');
  if (!Number.isInteger(limit) || limit < 1 || limit > AUDIT_PAGE_MAX)
    throw invalid(`limit must be a whole number from 1 to ${AUDIT_PAGE_MAX}`);
  return { entries: ctx.deps.audit.list(after, limit) };
}
