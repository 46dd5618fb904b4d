// Ethereum accounts as a remote signer shows them (JSON-RPC eth_accounts, account_list) and the
// way back from an address to the key that signs for it (the `from` of eth_signTransaction,
// eth_sign, personal_sign, ...). An account is the EIP-55 address of a secp256k1 key the caller's
// token may use; the list shows active keys only, while the lookup also finds deactivated or
// compromised ones, so that signing with them is refused for their state (409), not as unknown.
//
// Lookups are answered from a small address → key id memo, each hit re-checked against the stored
// record (a key's public key never changes, so a hit can only go stale by being destroyed, which
// the record shows); a miss scans the key records once.
import { parseAddress } from '../../chains/ethereum/fields.js';
import { KeymeshError } from '../../errors.js';
import { mayUseKey } from '../auth/scopes.js';
import type { OpContext } from '../context.js';
import { KEYS_PREFIX, keyKey } from '../../store/layout.js';
import { scan } from '../../store/scan.js';
import { type KeyRecord, openKeyRecord } from '../keys/record.js';
import { ethereumAddressOf } from './signer.js';

export interface EthereumAccount {
  address: string;
  keyId: string;
  /** HD roots' derived accounts only (core/keys/accounts.ts): the child's path. */
  path?: string;
}

const SCAN_PAGE = 500;
const MEMO_LIMIT = 100_000;
/** Address → id of an active key with that address. */
const keyOf = new Map<string, string>();

function recordAddress(r: KeyRecord): string | undefined {
  // An HD root signs only at a path: its accounts are its derived children (core/keys/accounts.ts).
  if (r.algorithm !== 'secp256k1' || r.hd) return undefined;
  const a = ethereumAddressOf(r.publicKey);
  if (r.state === 'active' && !keyOf.has(a)) {
    if (keyOf.size >= MEMO_LIMIT) keyOf.clear();
    keyOf.set(a, r.id);
  }
  return a;
}

/** Visit every key record the caller may use, in creation order. */
async function* callerKeys(ctx: OpContext): AsyncGenerator<KeyRecord> {
  const store = ctx.deps.store;
  const only = ctx.caller.keyIds;
  if (only !== null) {
    for (const id of [...only].sort()) {
      const e = await store.get(keyKey(id));
      if (e) yield await openKeyRecord(store, id, e.value);
    }
    return;
  }
  for await (const e of scan(store, KEYS_PREFIX, { page: SCAN_PAGE }))
    yield await openKeyRecord(store, e.key.slice(KEYS_PREFIX.length), e.value);
}

/** The caller's signing accounts: active secp256k1 keys it may use, oldest first, one per address. */
export async function listEthereumAccounts(ctx: OpContext): Promise<EthereumAccount[]> {
  const out: EthereumAccount[] = [];
  const seen = new Set<string>();
  for await (const r of callerKeys(ctx)) {
    if (r.state !== 'active') continue;
    const address = recordAddress(r);
    if (address === undefined || seen.has(address)) continue;
    seen.add(address);
    out.push({ address, keyId: r.id });
  }
  return out;
}

/**
 * The id of the key the caller may use whose address is `address`: an active one if there is
 * one (the same private key may have been imported twice), else one whose state then refuses the
 * signature. NOT_FOUND if there is none.
 */
export async function findEthereumAccount(ctx: OpContext, address: unknown, field = 'from'): Promise<string> {
  const want = parseAddress(field, address);
  const matches = (r: KeyRecord | undefined): r is KeyRecord =>
    r !== undefined && r.state !== 'destroyed' && mayUseKey(ctx.caller, r.id) && recordAddress(r) === want;
  const hit = keyOf.get(want);
  if (hit !== undefined) {
    const e = await ctx.deps.store.get(keyKey(hit));
    const r = e ? await openKeyRecord(ctx.deps.store, hit, e.value) : undefined;
    if (matches(r) && r.state === 'active') return r.id;
  }
  let fallback: string | undefined;
  for await (const r of callerKeys(ctx)) {
    if (!matches(r)) continue;
    if (r.state === 'active') {
      if (keyOf.size >= MEMO_LIMIT) keyOf.clear();
      keyOf.set(want, r.id);
      return r.id;
    }
    fallback ??= r.id;
  }
  if (fallback !== undefined) return fallback;
  // The same answer whether the address is unknown or belongs to a key this token may not use.
  throw new KeymeshError('NOT_FOUND', `No key this token may use has the address ${want}.`);
}
