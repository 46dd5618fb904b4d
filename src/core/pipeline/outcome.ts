// What a signing operation comes to: done, with its domain value, or pending, waiting for an
// approval (the next issue's policy produces it; nothing does yet). Adapters render pending in
// their own terms: HTTP 202 with the approval id (server.ts), JSON-RPC an error carrying it
// (rpc/routes.ts), later KMIP "operation pending".
import type { OperationName } from '../operations/table.js';

export type Outcome<T> =
  | { kind: 'done'; value: T }
  | { kind: 'pending'; approvalId: string; operation: OperationName; keyId: string };

/**
 * A pending outcome on its way out of a core method whose callers expect the value: the adapters
 * catch this one class and render it (never an error code; nothing failed).
 */
export class ApprovalPending extends Error {
  override readonly name = 'ApprovalPending';
  constructor(readonly outcome: Extract<Outcome<unknown>, { kind: 'pending' }>) {
    super('The operation waits for an approval.');
  }
}

export function unwrap<T>(o: Outcome<T>): T {
  if (o.kind === 'done') return o.value;
  throw new ApprovalPending(o);
}
