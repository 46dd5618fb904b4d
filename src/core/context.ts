// What every core operation is given: its dependencies and who is asking. Interfaces build a
// Credential; the core turns it into a Caller (core.ts), so authentication, authorisation and the
// audit of refusals happen once, here, for REST, JSON-RPC, KMIP and the CLI alike.
import type { AuditEntry, AuditInput } from '../audit/chain.js';
import type { Enclave } from '../enclave/enclave.js';
import type { Store } from '../store/store.js';
import type { Principal } from './auth/principal.js';
import type { Policy } from './pipeline/signing.js';
import type { Caller } from './auth/scopes.js';
import { OPERATIONS, type OperationName } from './operations/table.js';

export interface AuditSink {
  append(input: AuditInput): Promise<AuditEntry>;
  list(after: number, limit: number): AuditEntry[];
}

export interface CoreMetrics {
  signed(algorithm: string): void;
  /** A request refused for want of a valid token (audited in aggregate, src/audit/refusals.ts). */
  unauthenticatedRefused?(): void;
}

/**
 * Cluster mode (src/node.ts wires it from src/cluster/membership.ts): what the core needs of the
 * cluster to place a new key and to know whether this node may sign right now.
 */
export interface ClusterDeps {
  nodeId: string;
  /** Registered, lease held and caught up (Membership.isLive): checked right before signing. */
  isLive(): boolean;
  /** Live, attested nodes: the candidates for a new key's replicas. */
  liveNodes(): { id: string; region: string; level: number; attestation: unknown }[];
  /**
   * After a state change committed at `revision`: resolves once every live holder has applied it
   * (acknowledged through etcd) or been fenced (src/cluster/fencing.ts awaitAcks).
   */
  awaitApplied(keyId: string, revision: number, holders: readonly string[]): Promise<void>;
  /** The watch-fed copy of key and replica records (src/cluster/key-cache.ts), if it started. */
  keyCache?: {
    record(keyId: string): string | undefined;
    replica(keyId: string, nodeId: string): string | undefined;
  };
  /** Removes a node that is down from the cluster for good (Membership.remove). */
  removeNode(nodeId: string): Promise<void>;
  /** Every known node, sorted by id (Membership.nodes): what GET /v1/cluster shows. */
  nodes(): ClusterNode[];
}

/** One node as the cluster knows it. */
export interface ClusterNode {
  id: string;
  region: string;
  level: number;
  endpoints: readonly string[];
  live: boolean;
  attested: boolean;
  startedAt?: string;
}

export interface CoreDeps {
  nodeId: string;
  version: string;
  store: Store;
  enclave: Enclave;
  audit: AuditSink;
  metrics: CoreMetrics;
  cluster?: ClusterDeps;
  /** Judges every signing intent (pipeline/signing.ts); a pass-through when absent. */
  policy?: Policy;
}

/** A request as an interface hands it to the core. */
export interface Credential {
  /** Who is asking, as the interface could tell (auth/principal.ts); authenticated by the core. */
  principal: Principal;
  requestId: string;
  /**
   * Where the request came from (the client's address), for the aggregate audit of refusals of
   * callers without a valid token. Never a value the caller chose (no forwarded-for header).
   */
  source?: string;
  /** The interface's schema check failed: refused with 400 once the caller is authorised. */
  inputError?: string;
  /** Filled in by the core for the adapter: which node executed a key-using call. */
  trace?: CallTrace;
}

export interface CallTrace {
  executedBy?: string;
}

export interface OpContext {
  deps: CoreDeps;
  caller: Caller;
  requestId: string;
  /** The operation the dispatcher is running (its row of operations/table.ts). */
  operation: OperationName;
}

/**
 * Record that the running operation is allowed, under its action from the operations table;
 * resolves once durable, before the effect.
 */
export function auditAllowed(
  ctx: OpContext,
  keyId: string | undefined,
  details?: AuditInput['details'],
): Promise<AuditEntry> {
  return ctx.deps.audit.append({
    actor: ctx.caller.actor,
    action: OPERATIONS[ctx.operation].action,
    ...(keyId === undefined ? {} : { keyId }),
    outcome: 'allowed',
    requestId: ctx.requestId,
    ...(details === undefined ? {} : { details }),
  });
}
