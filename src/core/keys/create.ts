// POST /v1/keys and POST /v1/keys/import: a new key, made or sealed inside the enclave, stored
// with its name reservation in one transaction. The audit entry is durable before the key exists.
//
// HD roots (`"hd": true`, or an imported `mnemonic`): secp256k1 (BIP32) or ed25519 (SLIP-10). The
// mnemonic goes to the enclave as UTF-8 bytes, zeroed here once handed over; it is checked there
// and never stored, logged or echoed (a refusal names a word's position, not the word).
import type { Algorithm, NewKey, WrapRequest } from '../../enclave/enclave.js';
import { parsePlacement, placeReplicas, wrapConstraint, type Placement } from '../../cluster/placement.js';
import { createWithReplicasTxn, replicaRecords } from '../../cluster/replicas.js';
import { conflict, invalid, KeymeshError } from '../../errors.js';
import { encodeXpub } from '../../hd/bip32.js';
import { MAX_MNEMONIC_LENGTH, MAX_PASSPHRASE_LENGTH } from '../../hd/bip39.js';
import { parseHex, toBase64, toHex, wipe } from '../../util/bytes.js';
import { newId } from '../../util/ids.js';
import { auditAllowed, type OpContext } from '../context.js';
import { parseAlgorithm, parseLabels, parseName } from './input.js';
import { keyKey, nameKey } from '../../store/layout.js';
import { type KeyRecord, sealKeyRecord, toKeyView, type KeyView } from './record.js';

export interface CreateKeyInput {
  name: unknown;
  algorithm: unknown;
  labels?: unknown;
  /** true: an HD root with a fresh 24-word BIP39 mnemonic held inside the enclave. */
  hd?: unknown;
  /** Cluster mode: {regions?, minLevel?, replicas?}; default every node. */
  placement?: unknown;
}

export interface ImportKeyInput extends Omit<CreateKeyInput, 'hd'> {
  /** Exactly one of privateKey or mnemonic. */
  privateKey?: unknown;
  mnemonic?: unknown;
  /** BIP39 passphrase ("25th word"), with mnemonic only. */
  passphrase?: unknown;
}

/**
 * Cluster mode: where a new key goes. Every eligible live, attested node gets a replica
 * (PLACEMENT_UNSATISFIABLE when too few are); the enclave re-checks each recipient's attestation
 * and its attested region and level. Outside a cluster only a placement the lone node meets is
 * accepted (409 otherwise).
 */
function placeKey(
  ctx: OpContext,
  input: { placement?: unknown },
): { placement: Placement; wrap: WrapRequest } | undefined {
  const cluster = ctx.deps.cluster;
  if (!cluster) {
    // Alone, the node is the whole cluster: the default placement (or one replica) is met by it;
    // a region or level it has none of, or more replicas than one node, cannot be.
    if (input.placement !== undefined) {
      const p = parsePlacement(input.placement);
      if (p.regions !== undefined || p.minLevel !== undefined || (p.replicas ?? 1) > 1)
        throw new KeymeshError(
          'PLACEMENT_UNSATISFIABLE',
          'This node runs alone, with no region or level: only the default placement can be met.',
        );
    }
    return undefined;
  }
  const placement = parsePlacement(input.placement);
  const targets = placeReplicas(cluster.liveNodes(), placement);
  return {
    placement,
    wrap: {
      recipients: targets.map((n) => ({ nodeId: n.id, attestation: n.attestation })),
      constraint: wrapConstraint(placement),
    },
  };
}

function assertHdAlgorithm(algorithm: Algorithm): void {
  if (algorithm !== 'secp256k1' && algorithm !== 'ed25519')
    throw new KeymeshError(
      'UNSUPPORTED',
      `HD keys are secp256k1 (BIP32) or ed25519 (SLIP-10); ${algorithm} is not offered as an HD key`,
    );
}

/** A secret text field as UTF-8 bytes the caller wipes. Messages never quote the value. */
function secretText(field: string, value: unknown, max: number): Uint8Array {
  if (typeof value !== 'string') throw invalid(`${field} must be a string`);
  if (value.length > max) throw invalid(`${field} is longer than ${max} characters`);
  return new TextEncoder().encode(value); // a fresh buffer, never Buffer's shared pool
}

export async function createKey(ctx: OpContext, input: CreateKeyInput): Promise<KeyView> {
  const name = parseName(input.name);
  const algorithm = parseAlgorithm(input.algorithm);
  const labels = parseLabels(input.labels);
  if (input.hd !== undefined && typeof input.hd !== 'boolean') throw invalid('hd must be true or false');
  const hd = input.hd === true;
  if (hd) assertHdAlgorithm(algorithm);
  const placed = placeKey(ctx, input);
  const id = newId();
  await assertNameFree(ctx, name);
  const made = await ctx.deps.enclave.generate({
    keyId: id,
    version: 1,
    algorithm,
    ...(hd ? { hd } : {}),
    ...(placed ? { replicas: placed.wrap } : {}),
  });
  return persist(ctx, { id, name, algorithm, labels, origin: 'generated' }, made, placed?.placement);
}

export async function importKey(ctx: OpContext, input: ImportKeyInput): Promise<KeyView> {
  const name = parseName(input.name);
  const algorithm = parseAlgorithm(input.algorithm);
  const labels = parseLabels(input.labels);
  if ((input.privateKey === undefined) === (input.mnemonic === undefined))
    throw invalid('give exactly one of privateKey or mnemonic');
  if (input.mnemonic !== undefined) return importMnemonic(ctx, input, { name, algorithm, labels });
  if (input.passphrase !== undefined)
    throw invalid('passphrase is a BIP39 passphrase: it goes with mnemonic, not privateKey');
  const privateKey = parseHex('privateKey', input.privateKey, { len: 32 });
  const id = newId();
  try {
    const placed = placeKey(ctx, input);
    await assertNameFree(ctx, name);
    const made = await ctx.deps.enclave.importKey({
      keyId: id,
      version: 1,
      algorithm,
      privateKey,
      ...(placed ? { replicas: placed.wrap } : {}),
    });
    return await persist(ctx, { id, name, algorithm, labels, origin: 'imported' }, made, placed?.placement);
  } finally {
    wipe(privateKey);
  }
}

async function importMnemonic(
  ctx: OpContext,
  input: ImportKeyInput,
  meta: { name: string; algorithm: Algorithm; labels: Record<string, string> },
): Promise<KeyView> {
  assertHdAlgorithm(meta.algorithm);
  const mnemonic = secretText('mnemonic', input.mnemonic, MAX_MNEMONIC_LENGTH);
  let passphrase: Uint8Array | undefined;
  try {
    if (input.passphrase !== undefined)
      passphrase = secretText('passphrase', input.passphrase, MAX_PASSPHRASE_LENGTH);
    const placed = placeKey(ctx, input);
    const id = newId();
    await assertNameFree(ctx, meta.name);
    const made = await ctx.deps.enclave.importMnemonic({
      keyId: id,
      version: 1,
      algorithm: meta.algorithm,
      mnemonic,
      ...(passphrase ? { passphrase } : {}),
      ...(placed ? { replicas: placed.wrap } : {}),
    });
    return await persist(ctx, { id, ...meta, origin: 'imported' }, made, placed?.placement);
  } finally {
    wipe(mnemonic, passphrase);
  }
}

async function assertNameFree(ctx: OpContext, name: string): Promise<void> {
  if (await ctx.deps.store.get(nameKey(name)))
    throw conflict(`A key named ${JSON.stringify(name)} already exists.`);
}

async function persist(
  ctx: OpContext,
  meta: {
    id: string;
    name: string;
    algorithm: Algorithm;
    labels: Record<string, string>;
    origin: KeyRecord['origin'];
  },
  made: NewKey,
  placement?: Placement,
): Promise<KeyView> {
  const now = new Date().toISOString();
  const cluster = ctx.deps.cluster;
  const record: KeyRecord = {
    ...meta,
    publicKey: toHex(made.publicKey),
    state: 'active',
    createdAt: now,
    updatedAt: now,
    version: 1,
    seq: 1,
    // In a cluster the material is stored only as replicas: the blob sealed here opens only on
    // this node, which may not even be eligible to hold the key.
    sealed: cluster ? '' : toBase64(made.sealed),
  };
  if (cluster) {
    record.placement = placement ?? {};
    record.replicas = (made.replicas ?? []).map((r) => r.nodeId);
  }
  if (made.hd) {
    record.hd = true;
    record.fingerprint = toHex(made.hd.fingerprint);
    if (made.hd.chainCode)
      record.xpub = encodeXpub({
        depth: 0,
        index: 0,
        parentFingerprint: 0,
        fingerprint: 0,
        chainCode: made.hd.chainCode,
        publicKey: made.publicKey,
      });
  }
  await auditAllowed(ctx, meta.id, {
    name: meta.name,
    algorithm: meta.algorithm,
    publicKey: record.publicKey,
    ...(record.hd ? { hd: true, fingerprint: record.fingerprint! } : {}),
  });
  const value = await sealKeyRecord(ctx.deps.store, record);
  let res;
  if (cluster) {
    // The record, every replica and the name in one etcd transaction: the call returns only
    // after it commits, and a crash before leaves nothing behind.
    const replicas = replicaRecords(
      { keyId: meta.id, version: 1, algorithm: meta.algorithm },
      made.replicas ?? [],
      cluster.nodeId,
    );
    const t = createWithReplicasTxn({ key: keyKey(meta.id), value }, replicas, {
      compares: [{ key: nameKey(meta.name), modRevision: 0 }],
      ops: [{ type: 'put', key: nameKey(meta.name), value: meta.id }],
    });
    try {
      res = await ctx.deps.store.txn(t.compares, t.ops);
    } finally {
      // The worker that made it keeps it unsealed for speed; this node signs only via its replica.
      await ctx.deps.enclave.evict?.(meta.id);
    }
  } else {
    res = await ctx.deps.store.txn(
      [
        { key: nameKey(meta.name), modRevision: 0 },
        { key: keyKey(meta.id), modRevision: 0 },
      ],
      [
        { type: 'put', key: nameKey(meta.name), value: meta.id },
        { type: 'put', key: keyKey(meta.id), value },
      ],
    );
  }
  if (!res.ok) throw conflict(`A key named ${JSON.stringify(meta.name)} already exists.`);
  return toKeyView(record);
}
