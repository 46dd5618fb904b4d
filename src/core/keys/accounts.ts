// Ethereum accounts of HD roots, and the one account list and lookup every interface uses (the
// JSON-RPC signer's eth_accounts / account_list and the `from` of its signing methods).
//
// API.md: "Accounts are the keys the token may use (for HD roots, the addresses derived so far)".
// A plain secp256k1 key's account is its own address (core/chains/ethereum-accounts.ts, which
// this module extends); an HD root's accounts are the Ethereum addresses of the children derived
// through GET /v1/keys/{id}/derive, recorded in the store when derived:
//
//   hdaddr/<keyId>/<lowercase address>   → {keyId, path, address (EIP-55), at}   a root's accounts
//   ethaddr/<lowercase address>/<keyId>  → {keyId, path}                         address → roots
//
// Both are written together, once (compare-and-set on absence), so a repeated derive writes
// nothing. The address index is keyed by address and root, not by address alone: the same
// mnemonic imported twice (two roots, two names) derives the same addresses, and a token may be
// allowed only one of them. Entries of a destroyed root stay behind and are ignored (the root's
// record says it is destroyed), as its name reservation does.
import { parseAddress } from '../../chains/ethereum/fields.js';
import { isKeymeshError } from '../../errors.js';
import type { Store } from '../../store/store.js';
import { mayUseKey } from '../auth/scopes.js';
import {
  type EthereumAccount,
  findEthereumAccount,
  listEthereumAccounts as listKeyAccounts,
} from '../chains/ethereum-accounts.js';
import type { OpContext } from '../context.js';
import {
  ethAddressIndexKey,
  ethAddressIndexOf,
  HD_ADDRESSES_PREFIX,
  hdAddressesOf,
  hdAddressKey,
  keyKey,
} from '../../store/layout.js';
import { scan } from '../../store/scan.js';
import { type KeyRecord, openKeyRecord } from './record.js';

export type { EthereumAccount };

/** Where an account signs: the key, and for an HD root the child's path. */
export interface ResolvedAccount {
  keyId: string;
  path?: string;
}

interface StoredAccount {
  keyId: string;
  path: string;
  address: string;
  at: string;
}

/** Record that HD root `keyId` derived `address` at `path` (idempotent). */
export async function recordDerivedEthereumAccount(
  store: Store,
  keyId: string,
  path: string,
  address: string,
): Promise<void> {
  const own = hdAddressKey(keyId, address);
  if (await store.get(own)) return;
  const value: StoredAccount = { keyId, path, address, at: new Date().toISOString() };
  // Losing the race means another request recorded the same fact first: nothing to do.
  await store.txn(
    [
      { key: own, modRevision: 0 },
      { key: ethAddressIndexKey(address, keyId), modRevision: 0 },
    ],
    [
      { type: 'put', key: own, value: JSON.stringify(value) },
      { type: 'put', key: ethAddressIndexKey(address, keyId), value: JSON.stringify({ keyId, path }) },
    ],
  );
}

async function loadRecord(store: Store, id: string): Promise<KeyRecord | undefined> {
  const e = await store.get(keyKey(id));
  return e ? openKeyRecord(store, id, e.value) : undefined;
}

/** The accounts derived so far from HD root `keyId`, in the order they were first derived. */
export async function derivedEthereumAccounts(store: Store, keyId: string): Promise<EthereumAccount[]> {
  const rows: StoredAccount[] = [];
  for await (const e of scan(store, hdAddressesOf(keyId))) {
    const row = storedAccount(e.value);
    // A malformed entry is not an account; whatever an entry says, a signature in an address's
    // name is by that address or none (chains/signer.ts expectSigner).
    if (row) rows.push(row);
  }
  rows.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return rows.map((r) => ({ address: r.address, keyId, path: r.path }));
}

/**
 * Every Ethereum account the caller signs for: its active plain secp256k1 keys (oldest first),
 * then the derived addresses of its active HD roots (roots oldest first, each root's addresses in
 * the order they were derived). One entry per address.
 */
export async function listEthereumAccounts(ctx: OpContext): Promise<EthereumAccount[]> {
  const store = ctx.deps.store;
  const out = await listKeyAccounts(ctx);
  const seen = new Set(out.map((a) => a.address));
  const roots: string[] = [];
  if (ctx.caller.keyIds !== null) {
    roots.push(...[...ctx.caller.keyIds].sort());
  } else {
    // Only roots that derived something have entries; walk those, not every key record.
    let last: string | undefined;
    for await (const e of scan(store, HD_ADDRESSES_PREFIX)) {
      const id = e.key.slice(HD_ADDRESSES_PREFIX.length, e.key.indexOf('/', HD_ADDRESSES_PREFIX.length));
      if (id !== last) roots.push((last = id));
    }
  }
  for (const id of roots) {
    const r = await loadRecord(store, id);
    if (!r || !r.hd || r.state !== 'active' || !mayUseKey(ctx.caller, id)) continue;
    for (const a of await derivedEthereumAccounts(store, id)) {
      if (seen.has(a.address)) continue;
      seen.add(a.address);
      out.push(a);
    }
  }
  return out;
}

/**
 * The key (and, for an HD root, the path) behind an Ethereum address the caller may use: an
 * active key if there is one, else one whose state then refuses the signature (409), so that a
 * deactivated account is not reported as unknown. NOT_FOUND if the caller has no such account.
 */
/** An address entry as stored, or undefined for one that is not (parsed, not cast). */
function storedAccount(value: string): StoredAccount | undefined {
  try {
    const v = JSON.parse(value) as Partial<Record<keyof StoredAccount, unknown>> | null;
    if (v === null || typeof v !== 'object') return undefined;
    const { keyId, path, address, at } = v;
    if (typeof keyId !== 'string' || typeof path !== 'string' || typeof address !== 'string')
      return undefined;
    if (typeof at !== 'string' || path.length > 1024 || !/^0x[0-9a-fA-F]{40}$/.test(address))
      return undefined;
    return { keyId, path, address, at };
  } catch {
    return undefined;
  }
}

/** The path an address index entry names, or undefined for an entry that is not one. */
function indexedPath(value: string): string | undefined {
  try {
    const v: unknown = JSON.parse(value);
    const path = (v as { path?: unknown } | null)?.path;
    return typeof path === 'string' && path.length <= 1024 ? path : undefined;
  } catch {
    return undefined;
  }
}

export async function resolveEthereumAccount(
  ctx: OpContext,
  address: unknown,
  field = 'from',
): Promise<ResolvedAccount> {
  const want = parseAddress(field, address);
  const store = ctx.deps.store;
  let inactive: ResolvedAccount | undefined;
  const prefix = ethAddressIndexOf(want);
  for await (const e of scan(store, prefix)) {
    const keyId = e.key.slice(prefix.length);
    if (!mayUseKey(ctx.caller, keyId)) continue;
    const r = await loadRecord(store, keyId);
    if (!r || !r.hd || r.state === 'destroyed') continue;
    const path = indexedPath(e.value);
    if (path === undefined) continue;
    if (r.state === 'active') return { keyId, path };
    inactive ??= { keyId, path };
  }
  try {
    return { keyId: await findEthereumAccount(ctx, want, field) };
  } catch (e) {
    if (inactive && isKeymeshError(e) && e.code === 'NOT_FOUND') return inactive;
    throw e;
  }
}
