// The cluster integrity key across nodes (src/records/integrity.ts says what it protects): the
// first node makes it inside its enclave, and every node that joins receives it wrapped to its own
// enclave exactly as a key replica is (enclave/crypto/wrap.ts; the wrapping enclave verifies the
// recipient's attestation against the cluster CA first, worker/replicas.ts wrapAll). The key never
// leaves an enclave unwrapped; each node keeps it sealed in its data dir (integrity.sealed).
//
// etcd layout:
//   system/integrity                  {by, check, at}: the cluster has a key; `check` is its key
//                                     check value (enclave/crypto/record-mac.ts), created once by
//                                     compare-and-set, so two first nodes cannot both make one
//   system/integrity-copies/<nodeId>  {nodeId, transportPublicKey, wrapped, tag, wrappedBy,
//                                     createdAt}: the key wrapped to that node's transport key, and
//                                     the wrapping enclave's tag (enclave/crypto/integrity-copy.ts)
//
// Every node holding the key wraps it to each attested member (nodes() with a verified
// attestation) whose copy is missing or made for another transport key; the write compares the
// copy's revision, so when several holders do it at once one write wins and the rest change
// nothing. A node without the key (a joining node) is live only once it has adopted its copy
// (node.ts runs `receive` in Membership's `ready` hook): until then it serves nothing that reads a
// record. The receiving enclave accepts a copy only from the member named as its sender: that
// node's attestation verifies against the cluster CA, and its tag over the copy verifies under the
// attested transport key (a static-static X25519 agreement only the two enclaves can compute), so
// someone who can write to etcd cannot hand a joining node a key of their own. A copy whose key
// check value differs from the marker's is refused too, and so is a data dir holding another
// cluster's key. A first node that crashes between publishing the marker and keeping its key
// leaves a marker no node can serve: delete system/integrity in etcd and start a node again.
import { KeymeshError } from '../errors.js';
import type { IntegrityKeys } from '../enclave/enclave.js';
import type { EtcdStore } from '../store/etcd.js';
import { IntegrityLayout } from '../store/layout.js';
import { MAX_LIST_LIMIT } from '../store/limits.js';
import { scanAll } from '../store/scan.js';
import { ClusterKeys, isNodeId } from './ids.js';
import { parseMemberRecord, type Membership, type NodeView } from './membership.js';

export const IntegrityKeysInEtcd = IntegrityLayout;

const CHECK_RE = /^0x[0-9a-f]{64}$/;
const PUB_RE = /^0x[0-9a-f]{64}$/;
const B64_RE = /^[A-Za-z0-9+/]+={0,2}$/;
const TAG_RE = /^[0-9a-f]{64}$/;
const POLL_MS = 200;
const PERIOD_MS = 10_000;

interface Copy {
  nodeId: string;
  transportPublicKey: string;
  wrapped: string;
  tag: string;
  wrappedBy: string;
}

function parseMarker(json: string): string {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    v = undefined;
  }
  const check = (v as { check?: unknown } | undefined)?.check;
  if (typeof check !== 'string' || !CHECK_RE.test(check))
    throw new KeymeshError('RECORD_INTEGRITY', `${IntegrityKeysInEtcd.marker} in etcd is malformed`);
  return check;
}

function parseCopy(json: string, nodeId: string): Copy | undefined {
  try {
    const v = JSON.parse(json) as Record<string, unknown>;
    if (
      v.nodeId === nodeId &&
      typeof v.transportPublicKey === 'string' &&
      PUB_RE.test(v.transportPublicKey) &&
      typeof v.wrapped === 'string' &&
      v.wrapped.length <= 4096 &&
      B64_RE.test(v.wrapped) &&
      typeof v.tag === 'string' &&
      TAG_RE.test(v.tag) &&
      isNodeId(v.wrappedBy)
    )
      return {
        nodeId,
        transportPublicKey: v.transportPublicKey,
        wrapped: v.wrapped,
        tag: v.tag,
        wrappedBy: v.wrappedBy,
      };
  } catch {
    // malformed: as if absent
  }
  return undefined;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class ClusterIntegrity {
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private sharing: Promise<number> | undefined;
  private again = false;
  private unsubscribe: (() => void) | undefined;

  private constructor(
    private readonly store: EtcdStore,
    private readonly keys: IntegrityKeys,
    private readonly nodeId: string,
    private readonly onError: (e: Error) => void,
  ) {}

  /**
   * At start: the first node of a cluster makes the key and publishes its check value; a node that
   * holds one already checks it is the cluster's. Any other node receives it later (`receive`).
   */
  static async start(
    store: EtcdStore,
    keys: IntegrityKeys,
    nodeId: string,
    onError: (e: Error) => void,
  ): Promise<ClusterIntegrity> {
    const c = new ClusterIntegrity(store, keys, nodeId, onError);
    for (;;) {
      const marker = await store.get(IntegrityKeysInEtcd.marker);
      const local = keys.check();
      if (marker) {
        if (local !== undefined && local !== parseMarker(marker.value))
          throw new KeymeshError(
            'INVALID_REQUEST',
            'this data dir holds the integrity key of another cluster; start the node with a new data dir',
          );
        return c;
      }
      const made = local === undefined ? await keys.create() : undefined;
      const check = made?.check ?? local!;
      const value = JSON.stringify({ by: nodeId, check, at: new Date().toISOString() });
      const res = await store.txn(
        [{ key: IntegrityKeysInEtcd.marker, modRevision: 0 }],
        [{ type: 'put', key: IntegrityKeysInEtcd.marker, value }],
      );
      if (res.ok) {
        if (made) await keys.install(made.sealed);
        return c;
      }
      // Another node made the cluster's key first: take that one (loop: the marker is there now).
    }
  }

  /** Whether this node holds the cluster's integrity key. */
  held(): boolean {
    return this.keys.check() !== undefined;
  }

  /**
   * A node without the key: resolves once the copy wrapped to its transport key was adopted and
   * installed (its check value the marker's); UNAVAILABLE after `timeoutMs`.
   */
  async receive(transportPublicKey: string, timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!this.held()) {
      if (this.closed) throw new KeymeshError('UNAVAILABLE', 'the node is stopping');
      const [marker, copy] = await Promise.all([
        this.store.get(IntegrityKeysInEtcd.marker),
        this.store.get(IntegrityKeysInEtcd.copy(this.nodeId)),
      ]);
      const c = copy ? parseCopy(copy.value, this.nodeId) : undefined;
      // Who wrapped it, as the cluster knows that node: its enclave checks the attestation.
      const sender = c ? await this.store.get(ClusterKeys.member(c.wrappedBy)) : undefined;
      const from = sender && c ? parseMemberRecord(sender.value, c.wrappedBy) : undefined;
      if (marker && c && from && c.transportPublicKey === transportPublicKey) {
        try {
          const got = await this.keys.adopt({
            wrapped: new Uint8Array(Buffer.from(c.wrapped, 'base64')),
            tag: new Uint8Array(Buffer.from(c.tag, 'hex')),
            sender: { nodeId: from.id, attestation: from.attestation },
          });
          if (got.check !== parseMarker(marker.value))
            throw new KeymeshError(
              'RECORD_INTEGRITY',
              'the integrity key wrapped to this node is not the cluster’s',
            );
          await this.keys.install(got.sealed);
          return;
        } catch (e) {
          this.onError(e instanceof Error ? e : new Error(String(e)));
        }
      }
      if (Date.now() > until)
        throw new KeymeshError(
          'UNAVAILABLE',
          'no node has wrapped the cluster integrity key to this node yet',
        );
      await sleep(POLL_MS);
    }
  }

  /** Holders: share the key with members that lack it, on every view change and periodically. */
  startSharing(membership: Membership): void {
    const run = () => void this.shareNow(() => membership.nodes());
    this.unsubscribe = membership.onChange(run);
    this.timer = setInterval(run, PERIOD_MS);
    this.timer.unref();
    run();
  }

  /**
   * Rounds of sharing, serialised and coalesced: a call during a round makes one more round after
   * it, with the view as it is then. Resolves with the number of copies written.
   */
  shareNow(nodes: () => readonly NodeView[]): Promise<number> {
    if (this.sharing) {
      this.again = true;
      return this.sharing;
    }
    this.sharing = (async () => {
      let written = 0;
      do {
        this.again = false;
        try {
          written += await this.shareOnce(nodes());
        } catch (e) {
          this.onError(e instanceof Error ? e : new Error(String(e)));
        }
      } while (this.again && !this.closed);
      this.sharing = undefined;
      return written;
    })();
    return this.sharing;
  }

  private async shareOnce(nodes: readonly NodeView[]): Promise<number> {
    if (this.closed || !this.held()) return 0;
    const have = new Map<string, { tpk: string | undefined; modRevision: number }>();
    for (const e of await scanAll(this.store, IntegrityKeysInEtcd.copiesPrefix, { page: MAX_LIST_LIMIT })) {
      const id = e.key.slice(IntegrityKeysInEtcd.copiesPrefix.length);
      have.set(id, { tpk: parseCopy(e.value, id)?.transportPublicKey, modRevision: e.modRevision });
    }
    let written = 0;
    for (const n of nodes) {
      if (this.closed) break;
      const seen = have.get(n.id);
      if (!n.attested || !isNodeId(n.id) || seen?.tpk === n.transportPublicKey) continue;
      try {
        // The enclave verifies the attestation and takes the transport key from it.
        const [made] = await this.keys.wrap({ recipients: [{ nodeId: n.id, attestation: n.attestation }] });
        if (!made) continue;
        const value = JSON.stringify({
          nodeId: n.id,
          transportPublicKey: made.transportPublicKey,
          wrapped: Buffer.from(made.wrapped).toString('base64'),
          tag: Buffer.from(made.tag).toString('hex'),
          wrappedBy: this.nodeId,
          createdAt: new Date().toISOString(),
        });
        const key = IntegrityKeysInEtcd.copy(n.id);
        const res = await this.store.txn(
          [{ key, modRevision: seen?.modRevision ?? 0 }],
          [{ type: 'put', key, value }],
        );
        if (res.ok) written++;
      } catch (e) {
        this.onError(e instanceof Error ? e : new Error(String(e)));
      }
    }
    return written;
  }

  close(): void {
    this.closed = true;
    this.unsubscribe?.();
    if (this.timer) clearInterval(this.timer);
  }
}
