// Forwarding a key-using call to a node that holds the key (issue 4, point 4), shared by the REST
// routes (server.ts, a preHandler) and the JSON-RPC signer (rpc/routes.ts): the caller is
// authenticated here first, so the forward is audited on this node under the caller's identity,
// and the holder audits its own part under the same request id.
import type { Core } from '../../core/core.js';
import { authenticate } from '../../core/tokens/authenticate.js';
import type { ForwardResponse, ForwardTarget } from '../../cluster/forward.js';
import type { ClusterRouting } from '../../cluster/routing.js';

export interface KeyCall {
  keyId: string;
  method: 'GET' | 'POST';
  /** The REST path and query, e.g. /v1/keys/ID/sign. */
  path: string;
  /** The JSON body of a POST, as text. */
  body?: string;
  bearer: string | undefined;
  requestId: string;
  /** The route template, for the audit entry. */
  route: string;
}

export async function forwardKeyCall(
  core: Core,
  routing: ClusterRouting,
  targets: readonly ForwardTarget[],
  call: KeyCall,
): Promise<ForwardResponse> {
  const caller = await authenticate(core.deps.store, call.bearer);
  const res = await routing.forward(targets, {
    method: call.method,
    path: call.path,
    ...(call.body !== undefined ? { body: call.body } : {}),
    ...(call.bearer !== undefined ? { authorization: `Bearer ${call.bearer}` } : {}),
    requestId: call.requestId,
  });
  await core.deps.audit.append({
    actor: caller.actor,
    action: 'key.forward',
    keyId: call.keyId,
    outcome: res.status < 400 ? 'success' : 'error',
    requestId: call.requestId,
    details: { to: res.nodeId, status: res.status, route: call.route },
  });
  return res;
}
