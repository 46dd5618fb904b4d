// POST /v1/keys and POST /v1/keys/import: a new key, made or sealed inside the enclave, stored
// with its name reservation in one transaction. The audit entry is durable before the key exists.
import type { Algorithm, NewKey } from '../../enclave/enclave.js';
import { conflict } from '../../errors.js';
import { parseHex, toBase64, toHex, wipe } from '../../util/bytes.js';
import { newId } from '../../util/ids.js';
import { auditAllowed, type OpContext } from '../context.js';
import { parseAlgorithm, parseLabels, parseName } from './input.js';
import { keyKey, nameKey, type KeyRecord, toKeyView, type KeyView } from './record.js';

export interface CreateKeyInput {
  name: unknown;
  algorithm: unknown;
  labels?: unknown;
}

export interface ImportKeyInput extends CreateKeyInput {
  privateKey: unknown;
}

export async function createKey(ctx: OpContext, input: CreateKeyInput): Promise<KeyView> {
  const name = parseName(input.name);
  const algorithm = parseAlgorithm(input.algorithm);
  const labels = parseLabels(input.labels);
  const id = newId();
  await assertNameFree(ctx, name);
  const made = await ctx.deps.enclave.generate({ keyId: id, version: 1, algorithm });
  return persist(ctx, { id, name, algorithm, labels, origin: 'generated' }, made);
}

export async function importKey(ctx: OpContext, input: ImportKeyInput): Promise<KeyView> {
  const name = parseName(input.name);
  const algorithm = parseAlgorithm(input.algorithm);
  const labels = parseLabels(input.labels);
  const privateKey = parseHex('privateKey', input.privateKey, { len: 32 });
  const id = newId();
  try {
    await assertNameFree(ctx, name);
    const made = await ctx.deps.enclave.importKey({ keyId: id, version: 1, algorithm, privateKey });
    return await persist(ctx, { id, name, algorithm, labels, origin: 'imported' }, made);
  } finally {
    wipe(privateKey);
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
): Promise<KeyView> {
  const now = new Date().toISOString();
  const record: KeyRecord = {
    ...meta,
    publicKey: toHex(made.publicKey),
    state: 'active',
    createdAt: now,
    updatedAt: now,
    version: 1,
    sealed: toBase64(made.sealed),
  };
  await auditAllowed(ctx, meta.origin === 'generated' ? 'key.create' : 'key.import', meta.id, {
    name: meta.name,
    algorithm: meta.algorithm,
    publicKey: record.publicKey,
  });
  const res = await ctx.deps.store.txn(
    [
      { key: nameKey(meta.name), modRevision: 0 },
      { key: keyKey(meta.id), modRevision: 0 },
    ],
    [
      { type: 'put', key: nameKey(meta.name), value: meta.id },
      { type: 'put', key: keyKey(meta.id), value: JSON.stringify(record) },
    ],
  );
  if (!res.ok) throw conflict(`A key named ${JSON.stringify(meta.name)} already exists.`);
  return toKeyView(record);
}
