// The one core service. Every interface (REST, JSON-RPC, KMIP, CLI, console) calls these methods
// with a Credential; `perform`, the dispatcher, reads the operation's row of the operations table
// (operations/table.ts), authenticates, authorises, decides where a call that needs key material
// runs (pipeline/route.ts: the executor, this node's enclave or a peer), runs it, and audits every
// refusal or failure (those without a valid token in aggregate, audit/refusals.ts), so none of
// that is repeated in an adapter. Operations live one per file.
import type { AuditEntry } from '../audit/chain.js';
import { RefusalAggregator } from '../audit/refusals.js';
import { ERROR_TABLE, invalid, isKeymeshError } from '../errors.js';
import { listAudit, type ListAuditInput } from './audit/list.js';
import { isId } from '../util/ids.js';
import { ApprovalPending } from './pipeline/outcome.js';
import { authorize, type Caller } from './auth/scopes.js';
import { needsKeyMaterial, OPERATIONS, type OperationName } from './operations/table.js';
import { type Executor, type KeyRouter, placeCall } from './pipeline/route.js';
import { isPeerOperation, type PeerOperation } from './operations/codec.js';
import { KEY_OPERATIONS, localExecutor } from './operations/bodies.js';
import type { ForwardTarget } from '../cluster/forward.js';
import type { CoreDeps, Credential, OpContext } from './context.js';
import { createKey, type CreateKeyInput, importKey, type ImportKeyInput } from './keys/create.js';
import { getKey } from './keys/get.js';
import { listKeys, type ListKeysInput } from './keys/list.js';
import type { KeyView } from './keys/record.js';
import type { SignAnswer } from './keys/sign.js';
import { destroyKey, setKeyState } from './keys/state.js';
import type { VerifyInput } from './keys/verify.js';
import type { SignInput } from './keys/input.js';
import { authenticate } from './auth/authenticate.js';
import { registerReplicaHolder } from './keys/record.js';
import { RecordIntegrity, registerRecordIntegrity } from '../records/integrity.js';
import { logLine } from '../log/sink.js';
import { removeClusterNode } from './cluster/remove-node.js';
import { describeCluster, type ClusterView } from './cluster/describe.js';
import { createToken, type CreateTokenInput } from './tokens/create.js';
import { listTokens } from './tokens/list.js';
import type { TokenView } from './tokens/record.js';
import { revokeToken } from './tokens/revoke.js';
import type { BitcoinPsbtAnswer, BitcoinPsbtInput } from './chains/bitcoin-psbt.js';
// Accounts: plain keys (chains/ethereum-accounts.ts) and HD roots' derived addresses, merged here.
import {
  type EthereumAccount,
  listEthereumAccounts,
  resolveEthereumAccount,
  type ResolvedAccount,
} from './keys/accounts.js';
import type { DerivedView } from './keys/derive.js';
import type { EthereumMessageInput } from './chains/ethereum-message.js';
import type { EthereumTransactionInput, SignedTransaction } from './chains/ethereum-transaction.js';
import type { EthereumTypedDataInput } from './chains/ethereum-typed-data.js';

/** One call of an operation: its row of the table, the key it names, and its typed input. */
interface Call {
  op: OperationName;
  keyId?: string;
  input?: unknown;
}

/** Errors a peer answered with: audited there and as the forward here, not again. */
const fromPeer = new WeakSet<object>();

export class Core {
  private readonly refusals: RefusalAggregator;

  constructor(readonly deps: CoreDeps) {
    if (deps.cluster) registerReplicaHolder(deps.store, deps.cluster);
    // Every key and token record this core reads is checked (src/records/integrity.ts); a refused
    // one is logged and audited once per refused text, beside the failed call's own audit entry.
    registerRecordIntegrity(
      deps.store,
      new RecordIntegrity(deps.enclave, (r) => {
        logLine(`keymesh: refused the stored ${r.kind} record ${r.id} (${r.reason}); see the audit log`);
        deps.audit
          .append({
            actor: 'system',
            action: 'record.refused',
            outcome: 'error',
            ...(r.kind === 'key' ? { keyId: r.id } : {}),
            details: { code: 'RECORD_INTEGRITY', kind: r.kind, id: r.id, reason: r.reason },
          })
          .catch(() => undefined);
      }),
    );
    this.refusals = new RefusalAggregator({ append: (input) => deps.audit.append(input) });
  }

  /** Writes the pending aggregate of unauthenticated refusals; call before closing the audit log. */
  close(): Promise<void> {
    return this.refusals.close();
  }

  private router: KeyRouter | undefined;

  /**
   * Cluster mode: where key-using calls run (src/node.ts wires it once the peer channel exists).
   * Without one every call runs here.
   */
  useRouter(router: KeyRouter): void {
    this.router = router;
  }

  private async perform<T>(cred: Credential, call: Call, fn: (ctx: OpContext) => Promise<T>): Promise<T> {
    const spec = OPERATIONS[call.op];
    let caller: Caller | undefined;
    try {
      caller = await authenticate(this.deps.store, cred.principal);
      authorize(caller, spec.scope, spec.keyBound ? call.keyId : undefined);
      if (cred.inputError !== undefined) throw invalid(cred.inputError);
      const ctx: OpContext = { deps: this.deps, caller, requestId: cred.requestId, operation: call.op };
      // Routing only now, after authentication and authorisation: a caller without a valid token
      // or scope learns nothing of where a key is, and causes no peer call.
      const router = this.router;
      const { op, keyId } = call;
      if (
        router &&
        keyId !== undefined &&
        isId(keyId) &&
        isPeerOperation(op) &&
        needsKeyMaterial(spec, call.input)
      ) {
        // A peer's call runs here or is declined (one hop).
        const forwardedBy = cred.principal.kind === 'peer' ? cred.principal.nodeId : undefined;
        const targets = await placeCall(router, keyId, forwardedBy);
        const executor =
          targets === undefined
            ? localExecutor(ctx, router.selfId)
            : this.peerExecutor(router, targets, caller, cred);
        const { nodeId, value } = await executor.execute({
          operation: op,
          keyId,
          input: call.input,
          tokenId: caller.tokenId,
          requestId: cred.requestId,
        });
        if (cred.trace) cred.trace.executedBy = nodeId;
        return value as T;
      }
      return await fn(ctx);
    } catch (err) {
      // A pending outcome is no failure; a peer's refusal was audited there and as the forward.
      if (!(err instanceof ApprovalPending) && !fromPeer.has(err as object))
        await this.auditFailure(cred, call, caller, err);
      throw err;
    }
  }

  /**
   * A peer holding the key runs the call: audited here as a forward (the peer audits its own part
   * under the same request id); the peer's answer, value or typed error, is this call's answer.
   */
  private peerExecutor(
    router: KeyRouter,
    targets: readonly ForwardTarget[],
    caller: Caller,
    cred: Credential,
  ): Executor {
    return {
      kind: 'peer',
      execute: async (call) => {
        const answer = await router.execute(targets, call);
        await this.deps.audit.append({
          actor: caller.actor,
          action: 'key.forward',
          keyId: call.keyId,
          outcome: answer.ok ? 'success' : 'error',
          requestId: cred.requestId,
          details: {
            to: answer.nodeId,
            operation: call.operation,
            ...(answer.ok ? {} : { code: answer.error.code }),
          },
        });
        if (answer.ok) return { nodeId: answer.nodeId, value: answer.value };
        // Audited by the peer that refused and by the forward entry above: not a second time here.
        if (cred.trace) cred.trace.executedBy = answer.nodeId;
        fromPeer.add(answer.error);
        throw answer.error;
      },
    };
  }

  /**
   * Runs an operation that needs key material, by name: what the peer channel's listener calls
   * for a call another node sent (src/api/peer/server.ts), and what the typed methods below call.
   */
  runKeyOperation(cred: Credential, op: PeerOperation, keyId: string, input: unknown): Promise<unknown> {
    return this.perform(cred, { op, keyId, input }, (ctx) => KEY_OPERATIONS[op](ctx, keyId, input));
  }

  private async auditFailure(
    cred: Credential,
    call: Call,
    caller: Caller | undefined,
    err: unknown,
  ): Promise<void> {
    const spec = OPERATIONS[call.op];
    const code = isKeymeshError(err) ? err.code : 'INTERNAL';
    if (code === 'AUDIT_UNAVAILABLE') return;
    if (spec.read && code === 'NOT_FOUND') return;
    if (caller === undefined && code === 'UNAUTHENTICATED') {
      // No valid token: anyone can send these, so they are counted, not written one by one.
      this.refusals.record(cred.source);
      this.deps.metrics.unauthenticatedRefused?.();
      return;
    }
    const denied = ERROR_TABLE[code].audit === 'denied';
    try {
      await this.deps.audit.append({
        actor: caller?.actor ?? 'anonymous',
        action: spec.action,
        ...(call.keyId === undefined ? {} : { keyId: call.keyId.slice(0, 64) }),
        outcome: denied ? 'denied' : 'error',
        requestId: cred.requestId,
        details: { code },
      });
    } catch {
      // The refusal stands whether or not it could be recorded; the caller sees the original error.
    }
  }

  // Cluster
  describeCluster(cred: Credential): Promise<ClusterView> {
    return this.perform(cred, { op: 'cluster.describe' }, async (ctx) => describeCluster(ctx));
  }
  removeClusterNode(cred: Credential, nodeId: string): Promise<{ removed: string }> {
    return this.perform(cred, { op: 'cluster.remove-node' }, (ctx) => removeClusterNode(ctx, nodeId));
  }

  // Keys
  createKey(cred: Credential, input: CreateKeyInput): Promise<KeyView> {
    return this.perform(cred, { op: 'key.create' }, (ctx) => createKey(ctx, input));
  }
  importKey(cred: Credential, input: ImportKeyInput): Promise<KeyView> {
    return this.perform(cred, { op: 'key.import' }, (ctx) => importKey(ctx, input));
  }
  listKeys(cred: Credential, input: ListKeysInput): Promise<{ keys: KeyView[]; nextCursor?: string }> {
    return this.perform(cred, { op: 'key.list' }, (ctx) => listKeys(ctx, input));
  }
  getKey(cred: Credential, id: string): Promise<KeyView> {
    return this.perform(cred, { op: 'key.get', keyId: id }, (ctx) => getKey(ctx, id));
  }
  sign(cred: Credential, id: string, input: SignInput): Promise<SignAnswer> {
    return this.runKeyOperation(cred, 'key.sign', id, input) as Promise<SignAnswer>;
  }
  /** An HD root's child at `path`: public key, addresses, xpub (secp256k1). Audited as a use. */
  deriveKey(cred: Credential, id: string, path: unknown): Promise<DerivedView> {
    return this.runKeyOperation(cred, 'key.derive', id, { path }) as Promise<DerivedView>;
  }
  verify(cred: Credential, id: string, input: VerifyInput): Promise<{ valid: boolean }> {
    return this.runKeyOperation(cred, 'key.verify', id, input) as Promise<{ valid: boolean }>;
  }
  setKeyState(cred: Credential, id: string, state: unknown): Promise<KeyView> {
    return this.perform(cred, { op: 'key.state', keyId: id }, (ctx) => setKeyState(ctx, id, state));
  }
  destroyKey(cred: Credential, id: string): Promise<KeyView> {
    return this.perform(cred, { op: 'key.destroy', keyId: id }, (ctx) => destroyKey(ctx, id));
  }

  // Chains (wallet signing): same scope and key binding as a raw signature.
  signEthereumTransaction(
    cred: Credential,
    id: string,
    input: EthereumTransactionInput,
  ): Promise<SignedTransaction> {
    return this.runKeyOperation(cred, 'ethereum.transaction', id, input) as Promise<SignedTransaction>;
  }
  signEthereumMessage(
    cred: Credential,
    id: string,
    input: EthereumMessageInput,
  ): Promise<{ signature: string }> {
    return this.runKeyOperation(cred, 'ethereum.message', id, input) as Promise<{ signature: string }>;
  }
  signEthereumTypedData(
    cred: Credential,
    id: string,
    input: EthereumTypedDataInput,
  ): Promise<{ signature: string }> {
    return this.runKeyOperation(cred, 'ethereum.typed-data', id, input) as Promise<{ signature: string }>;
  }
  signBitcoinPsbt(cred: Credential, id: string, input: BitcoinPsbtInput): Promise<BitcoinPsbtAnswer> {
    return this.runKeyOperation(cred, 'bitcoin.psbt', id, input) as Promise<BitcoinPsbtAnswer>;
  }
  /** The Ethereum accounts this token signs for (JSON-RPC eth_accounts, account_list). */
  ethereumAccounts(cred: Credential): Promise<EthereumAccount[]> {
    return this.perform(cred, { op: 'ethereum.accounts' }, (ctx) => listEthereumAccounts(ctx));
  }
  /**
   * The key behind an Ethereum address this token signs for (a JSON-RPC request's `from`), and for
   * an HD root's derived address the path of the child that signs; pass both to the signing call.
   */
  ethereumAccount(cred: Credential, address: unknown, field = 'from'): Promise<ResolvedAccount> {
    return this.perform(cred, { op: 'ethereum.account' }, (ctx) =>
      resolveEthereumAccount(ctx, address, field),
    );
  }

  /**
   * The JSON-RPC signer's gate, passed before any method is looked up: every /rpc call needs a
   * token with keys:sign, whether or not the method touches a key (eth_chainId, account_version).
   */
  authorizeSigner(cred: Credential): Promise<void> {
    return this.perform(cred, { op: 'rpc.call' }, async () => undefined);
  }

  // Tokens
  createToken(cred: Credential, input: CreateTokenInput): Promise<{ id: string; token: string }> {
    return this.perform(cred, { op: 'token.create' }, (ctx) => createToken(ctx, input));
  }
  listTokens(cred: Credential): Promise<{ tokens: TokenView[] }> {
    return this.perform(cred, { op: 'token.list' }, (ctx) => listTokens(ctx));
  }
  revokeToken(cred: Credential, id: string): Promise<void> {
    return this.perform(cred, { op: 'token.revoke' }, (ctx) => revokeToken(ctx, id));
  }

  // Audit
  listAudit(cred: Credential, q: ListAuditInput): Promise<{ entries: AuditEntry[] }> {
    return this.perform(cred, { op: 'audit.list' }, async (ctx) => listAudit(ctx, q));
  }

  health(): { status: 'ok'; nodeId: string; version: string } {
    return { status: 'ok', nodeId: this.deps.nodeId, version: this.deps.version };
  }
}
