// Join sync (issue 4, point 6; DESIGN.md "Cluster: placement and sync"): when the membership view
// changes (a node joins or comes back, its region or level changes, a node leaves), this node
// works out its share of the replica work with planSync (replicas.ts: only the designated holder
// of a key acts for it) and carries it out: its enclave unwraps its own replica and re-wraps it to
// each new eligible node after verifying that node's attestation (Enclave.wrapReplicas), and the
// new replicas, the removals and the record's replica list are written in one transaction guarded
// by the key record's revision (syncTxn), so nothing is added to a key whose state changed since.
// Keys created while a node was down reach it when it is back: its return is a view change.
// Runs are serialised and coalesced; a periodic run catches anything a failed run left behind.
import type { Enclave } from '../enclave/enclave.js';
import type { EtcdStore } from '../store/etcd.js';
import { MAX_LIST_LIMIT } from '../store/limits.js';
import type { Membership } from './membership.js';
import { wrapConstraint } from './placement.js';
import { type KeyRecord, openKeyRecord, sealKeyRecord } from '../core/keys/record.js';
import {
  parseReplica,
  planSync,
  replicaRecords,
  syncTxn,
  type ReplicaRecord,
  type SyncKey,
} from './replicas.js';
import { KEYS_PREFIX, keyKey, parseReplicaKey, REPLICAS_PREFIX } from '../store/layout.js';
import { scanAll } from '../store/scan.js';

const PERIOD_MS = 10_000;

export interface SyncOutcome {
  wrapped: number;
  removed: number;
}

export class ReplicaSync {
  private running: Promise<SyncOutcome> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly store: EtcdStore,
    private readonly selfId: string,
    private readonly membership: Membership,
    private readonly enclave: Enclave,
    private readonly onError: (e: Error) => void,
  ) {}

  start(): void {
    this.membership.onChange(() => this.trigger());
    this.timer = setInterval(() => this.trigger(), PERIOD_MS);
    this.timer.unref();
    this.trigger();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
  }

  /** Run now (or once more after the run in progress); resolves with that run's outcome. */
  trigger(): Promise<SyncOutcome> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      let total: SyncOutcome = { wrapped: 0, removed: 0 };
      do {
        this.again = false;
        try {
          const o = await this.runOnce();
          total = { wrapped: total.wrapped + o.wrapped, removed: total.removed + o.removed };
        } catch (e) {
          this.onError(e instanceof Error ? e : new Error(String(e)));
        }
      } while (this.again && !this.closed);
      this.running = undefined;
      return total;
    })();
    return this.running;
  }

  async runOnce(): Promise<SyncOutcome> {
    const outcome: SyncOutcome = { wrapped: 0, removed: 0 };
    if (this.closed || !this.membership.isLive()) return outcome;
    const nodes = this.membership.nodes();
    const records = new Map<string, { rec: KeyRecord; modRevision: number }>();
    for (const e of await scanAll(this.store, KEYS_PREFIX, { page: MAX_LIST_LIMIT })) {
      // Checked like every key record (src/records/integrity.ts): a record no node wrote is
      // neither synced nor, above all, written back with a fresh MAC. It is reported and skipped.
      let rec: KeyRecord;
      try {
        rec = await openKeyRecord(this.store, e.key.slice(KEYS_PREFIX.length), e.value);
      } catch (err) {
        this.onError(err instanceof Error ? err : new Error(String(err)));
        continue;
      }
      if (Array.isArray(rec.replicas)) records.set(rec.id, { rec, modRevision: e.modRevision });
    }
    const replicas = new Map<string, ReplicaRecord[]>();
    for (const e of await scanAll(this.store, REPLICAS_PREFIX, { page: MAX_LIST_LIMIT })) {
      const at = parseReplicaKey(e.key);
      const r = at ? parseReplica(e.value, at.keyId, at.nodeId) : undefined;
      if (at && r) replicas.set(at.keyId, [...(replicas.get(at.keyId) ?? []), r]);
    }
    const keys: SyncKey[] = [];
    for (const [id, { rec }] of records)
      keys.push({
        keyId: id,
        state: rec.state,
        placement: rec.placement ?? {},
        replicas: (replicas.get(id) ?? []).map((r) => ({
          nodeId: r.nodeId,
          transportPublicKey: r.transportPublicKey,
        })),
      });
    const plan = planSync(this.selfId, keys, nodes);
    const ids = new Set([...plan.wrap.map((w) => w.keyId), ...plan.remove.map((r) => r.keyId)]);
    for (const keyId of ids) {
      const entry = records.get(keyId);
      const wraps = plan.wrap.filter((w) => w.keyId === keyId);
      const removes = plan.remove.filter((r) => r.keyId === keyId);
      const mine = (replicas.get(keyId) ?? []).find((r) => r.nodeId === this.selfId);
      let puts: ReplicaRecord[] = [];
      if (entry && wraps.length > 0 && mine && this.enclave.wrapReplicas) {
        const { rec } = entry;
        const made = await this.enclave.wrapReplicas(
          {
            keyId,
            version: mine.version,
            algorithm: mine.algorithm,
            sealed: new Uint8Array(Buffer.from(mine.wrapped, 'base64')),
            replica: true,
          },
          {
            recipients: wraps.map((w) => ({
              nodeId: w.nodeId,
              attestation: nodes.find((n) => n.id === w.nodeId)!.attestation,
            })),
            constraint: wrapConstraint(rec.placement),
          },
        );
        puts = replicaRecords({ keyId, version: mine.version, algorithm: mine.algorithm }, made, this.selfId);
      }
      if (puts.length === 0 && removes.length === 0) continue;
      const t = syncTxn({ key: keyKey(keyId), modRevision: entry?.modRevision ?? 0 }, puts, removes);
      if (entry && entry.rec.sealed !== null) {
        // The record's replica list follows the replicas (what GET /v1/keys/{id} shows).
        const holders = new Set((replicas.get(keyId) ?? []).map((r) => r.nodeId));
        for (const p of puts) holders.add(p.nodeId);
        for (const r of removes) holders.delete(r.nodeId);
        const next: KeyRecord = { ...entry.rec, seq: entry.rec.seq + 1, replicas: [...holders].sort() };
        t.ops.push({ type: 'put', key: keyKey(keyId), value: await sealKeyRecord(this.store, next) });
      }
      const res = await this.store.txn(t.compares, t.ops);
      if (res.ok) {
        outcome.wrapped += puts.length;
        outcome.removed += removes.length;
      } else {
        this.again = true; // the key changed meanwhile: plan again
      }
    }
    return outcome;
  }
}
