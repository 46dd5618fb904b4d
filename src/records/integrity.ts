// Checked records the store cannot forge (issue 8, point 6). Every key and token record is written
// with a MAC under the cluster integrity key (enclave/crypto/record-mac.ts: HMAC-SHA256 over kind
// ‖ id ‖ canonical body, computed inside the enclave) and read back only through `open`, which
// parses it, verifies the MAC for the id its store key names, checks its shape with the record
// kind's own checker and returns a typed value, or refuses it with RECORD_INTEGRITY. So someone who
// can write to etcd (or the SQLite file) but has no enclave cannot reactivate a key, widen a
// token or un-revoke one: every node refuses the edited record, logs it and audits it.
//
// Speed: verifying is an enclave round trip, so a record is verified once per exact stored text:
// the last text verified for each record, with its checked value, is kept here (bounded), and a
// read of the same text is answered from it without the enclave. Any change of the text (a
// write, an edit) is verified again before it is used.
//
// Rollback: a record carries `seq`, raised by one on every write of it (writes are compare-and-set
// on the record's revision, so it only grows). This node remembers the highest `seq` it verified
// per record and refuses an older one: an old, validly MAC'd record replayed into the store is
// refused by every node that has seen a newer one since it started. A node that has not (just
// started, or the record fell out of the bounded memory) accepts it: the remaining limit (README,
// "Security notes"; docs/architecture.md).
import { KeymeshError } from '../errors.js';
import { logLine } from '../log/sink.js';
import type { Store } from '../store/store.js';
import type { RecordMacRequest } from '../enclave/enclave.js';
import { canonicalBytes } from './canonical.js';

export type RecordKind = RecordMacRequest['kind'];

/** What a record is checked with: the enclave's MAC operations. */
export interface RecordMacs {
  macRecord(record: RecordMacRequest): Promise<Uint8Array>;
  verifyRecord(record: RecordMacRequest, mac: Uint8Array): Promise<boolean>;
}

/** Why a record was refused (a stable name, for the log, the audit entry and tests). */
export type RefusalReason = 'json' | 'missing-mac' | 'mac' | 'shape' | 'rollback';

export interface RecordRefusal {
  kind: RecordKind;
  id: string;
  reason: RefusalReason;
}

/** Every record kind's shape: a checker of the parsed record (without its mac) for this id. */
export type RecordChecker<T> = (value: unknown, id: string) => T;

const MAC_RE = /^[0-9a-f]{64}$/;
/** How many records' last verified text and highest seq are remembered. */
const MEMO_LIMIT = 50_000;

const REASON_TEXT: Record<RefusalReason, string> = {
  json: 'it is not JSON',
  'missing-mac': 'it has no MAC (written by an older build, or not by a node)',
  mac: 'its MAC does not verify: it was not written by a node of this cluster, or was moved or edited',
  shape: 'its fields are not those of a record of this kind',
  rollback: 'it is older than a version this node has already seen (a replay)',
};

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

function remember<V>(map: Map<string, V>, k: string, v: V): void {
  map.delete(k);
  if (map.size >= MEMO_LIMIT) map.delete(map.keys().next().value!);
  map.set(k, v);
}

export class RecordIntegrity {
  private readonly verified = new Map<string, { json: string; value: unknown }>();
  private readonly highest = new Map<string, number>();
  private readonly reported = new Map<string, string>();

  constructor(
    private readonly macs: RecordMacs,
    /** Told once per refused text (the log and the audit log); never told anything secret. */
    private readonly onRefused: (r: RecordRefusal) => void = (r) =>
      logLine(`keymesh: refused the stored ${r.kind} record ${r.id}: ${REASON_TEXT[r.reason]} (${r.reason})`),
  ) {}

  /** The text to store for `record` (its fields and `mac`, hex). `record` has no `mac` of its own. */
  async seal(kind: RecordKind, id: string, record: { seq: number }): Promise<string> {
    if ('mac' in record) throw new KeymeshError('INTERNAL', 'a record to seal must not carry a mac');
    const body = canonicalBytes(record);
    const mac = await this.macs.macRecord({ kind, id, body });
    return JSON.stringify({ ...record, mac: Buffer.from(mac).toString('hex') });
  }

  /**
   * The record stored as `json` under `id`, checked: JSON, a MAC that verifies for this kind and
   * id, the shape `check` accepts, and not older than one seen before. Else RECORD_INTEGRITY.
   */
  async open<T extends { seq: number }>(
    kind: RecordKind,
    id: string,
    json: string,
    check: RecordChecker<T>,
  ): Promise<T>;
  /**
   * With `mayBeStale` (a copy fed by a watch, which may lag the store): a record older than one
   * seen before is no replay but a lagging copy, answered with undefined (read the store instead).
   */
  async open<T extends { seq: number }>(
    kind: RecordKind,
    id: string,
    json: string,
    check: RecordChecker<T>,
    opts: { mayBeStale: true },
  ): Promise<T | undefined>;
  async open<T extends { seq: number }>(
    kind: RecordKind,
    id: string,
    json: string,
    check: RecordChecker<T>,
    opts: { mayBeStale?: boolean } = {},
  ): Promise<T | undefined> {
    const k = `${kind}\u0000${id}`;
    const hit = this.verified.get(k);
    if (hit !== undefined && hit.json === json) return hit.value as T;
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      throw this.refuse(k, json, { kind, id, reason: 'json' });
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw this.refuse(k, json, { kind, id, reason: 'shape' });
    const { mac, ...rest } = parsed as Record<string, unknown>;
    if (typeof mac !== 'string' || !MAC_RE.test(mac))
      throw this.refuse(k, json, { kind, id, reason: 'missing-mac' });
    let body: Uint8Array;
    try {
      body = canonicalBytes(rest);
    } catch {
      throw this.refuse(k, json, { kind, id, reason: 'shape' });
    }
    if (!(await this.macs.verifyRecord({ kind, id, body }, new Uint8Array(Buffer.from(mac, 'hex')))))
      throw this.refuse(k, json, { kind, id, reason: 'mac' });
    let value: T;
    try {
      value = check(rest, id);
    } catch {
      throw this.refuse(k, json, { kind, id, reason: 'shape' });
    }
    const seen = this.highest.get(k);
    if (seen !== undefined && value.seq < seen) {
      if (opts.mayBeStale) return undefined;
      throw this.refuse(k, json, { kind, id, reason: 'rollback' });
    }
    if (seen === undefined || value.seq > seen) remember(this.highest, k, value.seq);
    remember(this.verified, k, { json, value: deepFreeze(value) });
    return value;
  }

  private refuse(k: string, json: string, r: RecordRefusal): KeymeshError {
    // Reported once per refused text, so a record read on every request does not flood the logs.
    if (this.reported.get(k) !== json) {
      remember(this.reported, k, json);
      try {
        this.onRefused(r);
      } catch {
        // Reporting must not change the answer.
      }
    }
    return new KeymeshError(
      'RECORD_INTEGRITY',
      `The stored ${r.kind} record ${r.id} was refused: ${REASON_TEXT[r.reason]}.`,
      { details: { kind: r.kind, id: r.id, reason: r.reason } },
    );
  }
}

const registry = new WeakMap<Store, RecordIntegrity>();

/** Registered by the Core for its store, so every path that reads a record finds the checker. */
export function registerRecordIntegrity(store: Store, records: RecordIntegrity): void {
  registry.set(store, records);
}

export function recordsOf(store: Store): RecordIntegrity {
  const r = registry.get(store);
  if (!r) throw new KeymeshError('INTERNAL', 'No record integrity is registered for this store.');
  return r;
}
