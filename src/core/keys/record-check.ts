// The key record's checker: what a stored key record must look like, field by field, to be used
// (src/records/integrity.ts runs it after the record's MAC verified). Returns a typed KeyRecord or
// throws; nothing is cast. Unknown fields are refused: the MAC covers every field, and a field no
// build writes has no business in a record.
import { Algorithms, type Algorithm } from '../../enclave/enclave.js';
import { invalid } from '../../errors.js';
import { parsePlacement } from '../../cluster/placement.js';
import { isNodeId } from '../../cluster/ids.js';
import { isId } from '../../util/ids.js';
import { parseLabels, parseName } from './input.js';
import type { KeyRecord } from './record.js';
import { KeyStates, type KeyState } from './states.js';

const FIELDS = new Set([
  'id',
  'name',
  'algorithm',
  'publicKey',
  'state',
  'createdAt',
  'updatedAt',
  'labels',
  'version',
  'seq',
  'sealed',
  'placement',
  'replicas',
  'origin',
  'hd',
  'fingerprint',
  'xpub',
]);
const PUBLIC_KEY_RE = /^0x(?:[0-9a-f]{64}|[0-9a-f]{66})$/;
const FINGERPRINT_RE = /^0x[0-9a-f]{8}$/;
const XPUB_RE = /^xpub[1-9A-HJ-NP-Za-km-z]{100,112}$/;
const B64_RE = /^[A-Za-z0-9+/]*={0,2}$/;
const MAX_SEALED_B64 = 8192;
const MAX_REPLICAS = 64;

const uint32 = (n: unknown): n is number =>
  Number.isSafeInteger(n) && (n as number) >= 0 && (n as number) <= 0xffffffff;
const time = (s: unknown): s is string =>
  typeof s === 'string' && s.length <= 64 && !Number.isNaN(Date.parse(s));

/** A stored key record (without its mac) for key `id`, checked; else INVALID_REQUEST naming the field. */
export function checkKeyRecord(v: unknown, id: string): KeyRecord {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw invalid('a key record must be an object');
  const x = v as Record<string, unknown>;
  for (const k of Object.keys(x)) if (!FIELDS.has(k)) throw invalid('a key record has an unknown field');
  if (x.id !== id || !isId(id)) throw invalid('a key record must be stored under its own id');
  const name = parseName(x.name);
  if (!(Algorithms as readonly unknown[]).includes(x.algorithm)) throw invalid('key record algorithm');
  const algorithm = x.algorithm as Algorithm;
  if (typeof x.publicKey !== 'string' || !PUBLIC_KEY_RE.test(x.publicKey))
    throw invalid('key record publicKey');
  if (!(KeyStates as readonly unknown[]).includes(x.state)) throw invalid('key record state');
  if (!time(x.createdAt) || !time(x.updatedAt)) throw invalid('key record times');
  if (x.labels === undefined) throw invalid('key record labels');
  const labels = parseLabels(x.labels);
  if (!uint32(x.version) || !uint32(x.seq) || x.seq < 1) throw invalid('key record version and seq');
  if (
    x.sealed !== null &&
    (typeof x.sealed !== 'string' || x.sealed.length > MAX_SEALED_B64 || !B64_RE.test(x.sealed))
  )
    throw invalid('key record sealed');
  if (x.origin !== 'generated' && x.origin !== 'imported') throw invalid('key record origin');
  const r: KeyRecord = {
    id,
    name,
    algorithm,
    publicKey: x.publicKey,
    state: x.state as KeyState,
    createdAt: x.createdAt,
    updatedAt: x.updatedAt,
    labels,
    version: x.version,
    seq: x.seq,
    sealed: x.sealed,
    origin: x.origin,
  };
  if (x.placement !== undefined) r.placement = parsePlacement(x.placement);
  if (x.replicas !== undefined) {
    if (
      !Array.isArray(x.replicas) ||
      x.replicas.length > MAX_REPLICAS ||
      !x.replicas.every(isNodeId) ||
      new Set(x.replicas).size !== x.replicas.length
    )
      throw invalid('key record replicas');
    r.replicas = [...x.replicas];
  }
  if (x.hd !== undefined) {
    if (x.hd !== true) throw invalid('key record hd');
    r.hd = true;
  }
  if (x.fingerprint !== undefined) {
    if (typeof x.fingerprint !== 'string' || !FINGERPRINT_RE.test(x.fingerprint))
      throw invalid('key record fingerprint');
    r.fingerprint = x.fingerprint;
  }
  if (x.xpub !== undefined) {
    if (typeof x.xpub !== 'string' || !XPUB_RE.test(x.xpub)) throw invalid('key record xpub');
    r.xpub = x.xpub;
  }
  return r;
}
