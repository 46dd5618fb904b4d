// The one core service. Every interface (REST, JSON-RPC, KMIP, CLI, console) calls these methods
// with a Credential; `perform` authenticates, authorises, runs the operation, and audits every
// refusal or failure (those without a valid token in aggregate, audit/refusals.ts), so none of
// that is repeated in an adapter. Operations live one per file.
import type { AuditEntry } from '../audit/chain.js';
import { RefusalAggregator } from '../audit/refusals.js';
import { ERROR_TABLE, invalid, isKeymeshError } from '../errors.js';
import { authorize, type Caller, type Scope } from './auth/scopes.js';
import type { CoreDeps, Credential, OpContext } from './context.js';
import { createKey, type CreateKeyInput, importKey, type ImportKeyInput } from './keys/create.js';
import { getKey } from './keys/get.js';
import { listKeys, type ListKeysInput } from './keys/list.js';
import type { KeyView } from './keys/record.js';
import { signWithKey, type SignAnswer } from './keys/sign.js';
import { destroyKey, setKeyState } from './keys/state.js';
import { verifyWithKey, type VerifyInput } from './keys/verify.js';
import type { SignInput } from './keys/input.js';
import { authenticate } from './tokens/authenticate.js';
import { registerReplicaHolder } from './keys/record.js';
import { removeClusterNode } from './cluster/remove-node.js';
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

interface OpSpec {
  action: string;
  scope: Scope;
  keyId?: string;
  /** Reads are audited only when refused; everything else also on success (inside the op). */
  read?: boolean;
}

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

  private async perform<T>(cred: Credential, spec: OpSpec, fn: (ctx: OpContext) => Promise<T>): Promise<T> {
    let caller: Caller | undefined;
    try {
      caller = await authenticate(this.deps.store, cred.bearer);
      authorize(caller, spec.scope, spec.keyId);
      if (cred.inputError !== undefined) throw invalid(cred.inputError);
      return await fn({ deps: this.deps, caller, requestId: cred.requestId });
    } catch (err) {
      await this.auditFailure(cred, spec, caller, err);
      throw err;
    }
  }

  private async auditFailure(
    cred: Credential,
    spec: OpSpec,
    caller: Caller | undefined,
    err: unknown,
  ): Promise<void> {
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
        ...(spec.keyId === undefined ? {} : { keyId: spec.keyId.slice(0, 64) }),
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
    return this.perform(cred, { action: 'cluster.remove-node', scope: 'admin' }, (ctx) =>
      removeClusterNode(ctx, nodeId),
    );
  }

  // Keys
  createKey(cred: Credential, input: CreateKeyInput): Promise<KeyView> {
    return this.perform(cred, { action: 'key.create', scope: 'keys:create' }, (ctx) => createKey(ctx, input));
  }
  importKey(cred: Credential, input: ImportKeyInput): Promise<KeyView> {
    return this.perform(cred, { action: 'key.import', scope: 'keys:create' }, (ctx) => importKey(ctx, input));
  }
  listKeys(cred: Credential, input: ListKeysInput): Promise<{ keys: KeyView[]; nextCursor?: string }> {
    return this.perform(cred, { action: 'key.list', scope: 'keys:read', read: true }, (ctx) =>
      listKeys(ctx, input),
    );
  }
  getKey(cred: Credential, id: string): Promise<KeyView> {
    return this.perform(cred, { action: 'key.get', scope: 'keys:read', keyId: id, read: true }, (ctx) =>
      getKey(ctx, id),
    );
  }
  sign(cred: Credential, id: string, input: SignInput): Promise<SignAnswer> {
    return this.perform(cred, { action: 'key.sign', scope: 'keys:sign', keyId: id }, (ctx) =>
      signWithKey(ctx, id, input),
    );
  }
  /** An HD root's child at `path`: public key, addresses, xpub (secp256k1). Audited as a use. */
  deriveKey(cred: Credential, id: string, path: unknown): Promise<DerivedView> {
    return this.perform(cred, { action: 'key.derive', scope: 'keys:read', keyId: id }, (ctx) =>
      deriveKey(ctx, id, path),
    );
  }
  verify(cred: Credential, id: string, input: VerifyInput): Promise<{ valid: boolean }> {
    return this.perform(cred, { action: 'key.verify', scope: 'keys:read', keyId: id }, (ctx) =>
      verifyWithKey(ctx, id, input),
    );
  }
  setKeyState(cred: Credential, id: string, state: unknown): Promise<KeyView> {
    return this.perform(cred, { action: 'key.state', scope: 'keys:manage', keyId: id }, (ctx) =>
      setKeyState(ctx, id, state),
    );
  }
  destroyKey(cred: Credential, id: string): Promise<KeyView> {
    return this.perform(cred, { action: 'key.destroy', scope: 'keys:manage', keyId: id }, (ctx) =>
      destroyKey(ctx, id),
    );
  }

  // Chains (wallet signing): same scope and key binding as a raw signature.
  signEthereumTransaction(
    cred: Credential,
    id: string,
    input: EthereumTransactionInput,
  ): Promise<SignedTransaction> {
    return this.perform(cred, { action: 'ethereum.transaction', scope: 'keys:sign', keyId: id }, (ctx) =>
      signEthereumTransaction(ctx, id, input),
    );
  }
  signEthereumMessage(
    cred: Credential,
    id: string,
    input: EthereumMessageInput,
  ): Promise<{ signature: string }> {
    return this.perform(cred, { action: 'ethereum.message', scope: 'keys:sign', keyId: id }, (ctx) =>
      signEthereumMessage(ctx, id, input),
    );
  }
  signEthereumTypedData(
    cred: Credential,
    id: string,
    input: EthereumTypedDataInput,
  ): Promise<{ signature: string }> {
    return this.perform(cred, { action: 'ethereum.typed-data', scope: 'keys:sign', keyId: id }, (ctx) =>
      signEthereumTypedData(ctx, id, input),
    );
  }
  signBitcoinPsbt(cred: Credential, id: string, input: BitcoinPsbtInput): Promise<BitcoinPsbtAnswer> {
    return this.perform(cred, { action: 'bitcoin.psbt', scope: 'keys:sign', keyId: id }, (ctx) =>
      signBitcoinPsbt(ctx, id, input),
    );
  }
  /** The Ethereum accounts this token signs for (JSON-RPC eth_accounts, account_list). */
  ethereumAccounts(cred: Credential): Promise<EthereumAccount[]> {
    return this.perform(cred, { action: 'ethereum.accounts', scope: 'keys:sign', read: true }, (ctx) =>
      listEthereumAccounts(ctx),
    );
  }
  /**
   * The key behind an Ethereum address this token signs for (a JSON-RPC request's `from`), and for
   * an HD root's derived address the path of the child that signs; pass both to the signing call.
   */
  ethereumAccount(cred: Credential, address: unknown, field = 'from'): Promise<ResolvedAccount> {
    return this.perform(cred, { action: 'ethereum.account', scope: 'keys:sign', read: true }, (ctx) =>
      resolveEthereumAccount(ctx, address, field),
    );
  }

  /**
   * The JSON-RPC signer's gate, passed before any method is looked up: every /rpc call needs a
   * token with keys:sign, whether or not the method touches a key (eth_chainId, account_version).
   */
  authorizeSigner(cred: Credential): Promise<void> {
    return this.perform(cred, { action: 'rpc.call', scope: 'keys:sign', read: true }, async () => undefined);
  }

  // Tokens
  createToken(cred: Credential, input: CreateTokenInput): Promise<{ id: string; token: string }> {
    return this.perform(cred, { action: 'token.create', scope: 'admin' }, (ctx) => createToken(ctx, input));
  }
  listTokens(cred: Credential): Promise<{ tokens: TokenView[] }> {
    return this.perform(cred, { action: 'token.list', scope: 'admin', read: true }, (ctx) => listTokens(ctx));
  }
  revokeToken(cred: Credential, id: string): Promise<void> {
    return this.perform(cred, { action: 'token.revoke', scope: 'admin' }, (ctx) => revokeToken(ctx, id));
  }

  // Audit
  listAudit(
    cred: Credential,
    q: { after?: number | string; limit?: number | string },
  ): Promise<{ entries: AuditEntry[] }> {
    return this.perform(cred, { action: 'audit.list', scope: 'audit:read', read: true }, async () => {
      const after = q.after === undefined ? 0 : Number(q.after);
      const limit = q.limit === undefined ? 100 : Number(q.limit);
      if (!Number.isSafeInteger(after) || after < 0) throw invalid('after must be a whole number, 0 or more');
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw invalid('limit must be a whole number from 1 to 1000');
      return { entries: this.deps.audit.list(after, limit) };
    });
  }

  health(): { status: 'ok'; nodeId: string; version: string } {
    return { status: 'ok', nodeId: this.deps.nodeId, version: this.deps.version };
  }
}
