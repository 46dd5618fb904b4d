// The one core service. Every interface (REST, JSON-RPC, KMIP, CLI, console) calls these methods
// with a Credential; `perform`, the dispatcher, reads the operation's row of the operations table
// (operations/table.ts), authenticates, authorises, decides where a call that needs key material
// runs (pipeline/route.ts: here, or a peer through the executor), runs it, and audits every
// refusal or failure (those without a valid token in aggregate, audit/refusals.ts), so none of
// that is repeated in an adapter. Operations live one per file.
import type { AuditEntry } from '../audit/chain.js';
import { RefusalAggregator } from '../audit/refusals.js';
import { ERROR_TABLE, invalid, isKeymeshError } from '../errors.js';
import { isId } from '../util/ids.js';
import { ApprovalPending, unwrap } from './pipeline/outcome.js';
import { authorize, type Caller } from './auth/scopes.js';
import { needsKeyMaterial, OPERATIONS, type OperationName } from './operations/table.js';
import { type KeyRouter, placeCall } from './pipeline/route.js';
import type { ForwardTarget } from '../cluster/forward.js';
import type { CoreDeps, Credential, OpContext } from './context.js';
import { createKey, type CreateKeyInput, importKey, type ImportKeyInput } from './keys/create.js';
import { getKey } from './keys/get.js';
import { listKeys, type ListKeysInput } from './keys/list.js';
import type { KeyView } from './keys/record.js';
import { signWithKey, type SignAnswer } from './keys/sign.js';
import { destroyKey, setKeyState } from './keys/state.js';
import { verifyWithKey, type VerifyInput } from './keys/verify.js';
import type { SignInput } from './keys/input.js';
import { authenticate } from './auth/authenticate.js';
import { registerReplicaHolder } from './keys/record.js';
import { removeClusterNode } from './cluster/remove-node.js';
import { listAudit, type ListAuditInput } from './audit/list.js';
import { createToken, type CreateTokenInput } from './tokens/create.js';
import { listTokens } from './tokens/list.js';
import type { TokenView } from './tokens/record.js';
import { revokeToken } from './tokens/revoke.js';
import { signBitcoinPsbt, type BitcoinPsbtAnswer, type BitcoinPsbtInput } from './chains/bitcoin-psbt.js';
// Accounts: plain keys (chains/ethereum-accounts.ts) and HD roots' derived addresses, merged here.
import {
  type EthereumAccount,
  listEthereumAccounts,
  resolveEthereumAccount,
  type ResolvedAccount,
} from './keys/accounts.js';
import { deriveKey, type DerivedView } from './keys/derive.js';
import { signEthereumMessage, type EthereumMessageInput } from './chains/ethereum-message.js';
import {
  signEthereumTransaction,
  type EthereumTransactionInput,
  type SignedTransaction,
} from './chains/ethereum-transaction.js';
import { signEthereumTypedData, type EthereumTypedDataInput } from './chains/ethereum-typed-data.js';

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
      // Routing only now, after authentication and authorisation: a caller without a valid token
      // or scope learns nothing of where a key is, and causes no peer call.
      const router = this.router;
      const keyId = call.keyId;
      if (router && keyId !== undefined && isId(keyId) && needsKeyMaterial(spec, call.input)) {
        // A peer's call runs here or is declined (one hop).
        const forwardedBy = cred.principal.kind === 'peer' ? cred.principal.nodeId : undefined;
        const targets = await placeCall(router, keyId, forwardedBy);
        if (targets !== undefined)
          return (await this.onPeer(router, targets, cred, caller, { ...call, keyId })) as T;
        if (cred.trace) cred.trace.executedBy = router.selfId;
      }
      return await fn({ deps: this.deps, caller, requestId: cred.requestId, operation: call.op });
    } catch (err) {
      // A pending outcome is no failure; a peer's refusal was audited there and as the forward.
      if (!(err instanceof ApprovalPending) && !fromPeer.has(err as object))
        await this.auditFailure(cred, call, caller, err);
      throw err;
    }
  }

  /**
   * A call run by a peer holding the key: audited here as a forward (the peer audits its own part
   * under the same request id); the peer's answer, value or typed error, is this call's answer.
   */
  private async onPeer(
    router: KeyRouter,
    targets: readonly ForwardTarget[],
    cred: Credential,
    caller: Caller,
    call: Call & { keyId: string },
  ): Promise<unknown> {
    const answer = await router.execute(targets, {
      operation: call.op,
      keyId: call.keyId,
      input: call.input,
      principal: cred.principal,
      requestId: cred.requestId,
    });
    if (cred.trace) cred.trace.executedBy = answer.nodeId;
    await this.deps.audit.append({
      actor: caller.actor,
      action: 'key.forward',
      keyId: call.keyId,
      outcome: answer.ok ? 'success' : 'error',
      requestId: cred.requestId,
      details: {
        to: answer.nodeId,
        operation: call.op,
        ...(answer.ok ? {} : { code: answer.error.code }),
      },
    });
    if (answer.ok) return answer.value;
    // Audited by the peer that refused and by the forward entry above: not a second time here.
    fromPeer.add(answer.error);
    throw answer.error;
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
    return this.perform(cred, { op: 'key.sign', keyId: id, input }, (ctx) =>
      signWithKey(ctx, id, input).then(unwrap),
    );
  }
  /** An HD root's child at `path`: public key, addresses, xpub (secp256k1). Audited as a use. */
  deriveKey(cred: Credential, id: string, path: unknown): Promise<DerivedView> {
    return this.perform(cred, { op: 'key.derive', keyId: id, input: { path } }, (ctx) =>
      deriveKey(ctx, id, path),
    );
  }
  verify(cred: Credential, id: string, input: VerifyInput): Promise<{ valid: boolean }> {
    return this.perform(cred, { op: 'key.verify', keyId: id, input }, (ctx) => verifyWithKey(ctx, id, input));
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
    return this.perform(cred, { op: 'ethereum.transaction', keyId: id, input }, (ctx) =>
      signEthereumTransaction(ctx, id, input).then(unwrap),
    );
  }
  signEthereumMessage(
    cred: Credential,
    id: string,
    input: EthereumMessageInput,
  ): Promise<{ signature: string }> {
    return this.perform(cred, { op: 'ethereum.message', keyId: id, input }, (ctx) =>
      signEthereumMessage(ctx, id, input).then(unwrap),
    );
  }
  signEthereumTypedData(
    cred: Credential,
    id: string,
    input: EthereumTypedDataInput,
  ): Promise<{ signature: string }> {
    return this.perform(cred, { op: 'ethereum.typed-data', keyId: id, input }, (ctx) =>
      signEthereumTypedData(ctx, id, input).then(unwrap),
    );
  }
  signBitcoinPsbt(cred: Credential, id: string, input: BitcoinPsbtInput): Promise<BitcoinPsbtAnswer> {
    return this.perform(cred, { op: 'bitcoin.psbt', keyId: id, input }, (ctx) =>
      signBitcoinPsbt(ctx, id, input).then(unwrap),
    );
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
    return this.perform(cred, { op: 'audit.list' }, (ctx) => listAudit(ctx, q));
  }

  health(): { status: 'ok'; nodeId: string; version: string } {
    return { status: 'ok', nodeId: this.deps.nodeId, version: this.deps.version };
  }
}
