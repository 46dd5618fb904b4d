// etcd leases for the cluster layer (membership, fencing): keepalives every ttl/3, a monotonic-clock
// bound on how long etcd is certain to keep the lease, and a one-time loss report (expired,
// revoked, or not renewed in time). Granted by EtcdStore.grantLease.
import { performance } from 'node:perf_hooks';
import type { Etcd3 } from 'etcd3';
import { KeymeshError, invalid } from '../../errors.js';
import { num } from './client.js';

/** What a lease needs from the store that granted it (EtcdStore). */
export interface LeaseHost {
  call<T>(kind: 'read' | 'write', fn: (o: { deadline: number }) => Promise<T>): Promise<T>;
  readonly rpc: Etcd3;
  forget(lease: EtcdLease): void;
}

/** The id of a lease given as an EtcdLease or as its decimal id. */
export function leaseId(lease: EtcdLease | string): string {
  const id = typeof lease === 'string' ? lease : lease.id;
  if (!/^[1-9][0-9]{0,18}$/.test(id)) throw invalid('a lease id is a positive decimal integer');
  return id;
}

/** A lease granted by `EtcdStore.grantLease`. */
export class EtcdLease {
  readonly id: string;
  readonly ttlSeconds: number;
  private validUntil: number; // performance.now() clock
  private lostErr: KeymeshError | undefined;
  private stopped = false;
  private readonly listeners = new Set<(err: KeymeshError) => void>();
  private tick: NodeJS.Timeout | undefined;
  private expiry: NodeJS.Timeout | undefined;

  /** @internal */
  constructor(
    private readonly store: LeaseHost,
    id: string,
    ttlSeconds: number,
    grantSentAt: number,
    autoKeepAlive: boolean,
  ) {
    this.id = id;
    this.ttlSeconds = ttlSeconds;
    // etcd may grant more than asked (its minimum TTL), never less: counting the asked TTL from
    // when the grant was sent is a safe lower bound.
    this.validUntil = grantSentAt + ttlSeconds * 1000;
    this.armExpiry();
    if (autoKeepAlive) this.schedule(this.interval());
  }

  /** True once the lease is gone or may be gone: stop acting on its behalf. */
  get lost(): boolean {
    return this.lostErr !== undefined || this.remainingMs() <= 0;
  }

  /** Milliseconds etcd is certain to keep the lease; ≤ 0 when it may have expired. */
  remainingMs(): number {
    return this.lostErr ? 0 : this.validUntil - performance.now();
  }

  /** Calls `cb` once when the lease is lost (at once if it already is); returns an unsubscribe. */
  onLost(cb: (err: KeymeshError) => void): () => void {
    if (this.lostErr) {
      const err = this.lostErr;
      queueMicrotask(() => cb(err));
      return () => undefined;
    }
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** One keepalive round trip; extends `remainingMs()` on success. */
  async keepAliveOnce(): Promise<void> {
    if (this.lostErr) throw this.lostErr;
    const sentAt = performance.now();
    const ttl = await this.store.call('read', async (o) => {
      const stream = await this.store.rpc.leaseClient.leaseKeepAlive(o);
      try {
        return await new Promise<number>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error('keepalive timed out')),
            Math.max(0, o.deadline - Date.now()),
          );
          stream.on('data', (r: { TTL: string }) => {
            clearTimeout(timer);
            resolve(num(r.TTL));
          });
          stream.on('error', (e: unknown) => {
            clearTimeout(timer);
            reject(e);
          });
          stream.write({ ID: this.id });
        });
      } finally {
        stream.end();
      }
    });
    if (ttl <= 0) {
      const err = new KeymeshError('CONFLICT', 'The lease has expired or was revoked.', {
        details: { reason: 'lease_expired', lease: this.id },
      });
      this.lose(err);
      throw err;
    }
    if (this.lostErr) throw this.lostErr;
    this.validUntil = Math.max(this.validUntil, sentAt + Math.min(ttl, this.ttlSeconds) * 1000);
    this.armExpiry();
  }

  /** Ends the lease now: etcd deletes its keys. Idempotent. */
  async revoke(): Promise<void> {
    const wasLost = this.lostErr !== undefined;
    this.lose(new KeymeshError('CONFLICT', 'The lease was revoked.', { details: { reason: 'revoked' } }));
    if (wasLost && this.stopped) return;
    try {
      await this.store.call('write', (o) => this.store.rpc.leaseClient.leaseRevoke({ ID: this.id }, o));
    } catch (e) {
      if (!(e instanceof KeymeshError && e.code === 'CONFLICT')) throw e; // already gone is fine
    }
  }

  /** @internal Stops keepalives without revoking (the store is closing): etcd expires it. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.tick);
    clearTimeout(this.expiry);
  }

  private interval(): number {
    return (this.ttlSeconds * 1000) / 3;
  }

  private schedule(ms: number): void {
    if (this.stopped || this.lostErr) return;
    this.tick = setTimeout(() => {
      this.keepAliveOnce().then(
        () => this.schedule(this.interval()),
        () => this.schedule(Math.min(500, this.interval())),
      );
    }, ms);
    this.tick.unref();
  }

  private armExpiry(): void {
    clearTimeout(this.expiry);
    if (this.stopped || this.lostErr) return;
    this.expiry = setTimeout(
      () => {
        if (this.remainingMs() <= 0)
          this.lose(
            new KeymeshError('UNAVAILABLE', 'The lease could not be renewed in time.', {
              details: { reason: 'not_renewed', lease: this.id },
            }),
          );
        else this.armExpiry();
      },
      Math.max(0, this.remainingMs()) + 1,
    );
    this.expiry.unref();
  }

  private lose(err: KeymeshError): void {
    if (this.lostErr) return;
    this.lostErr = err;
    this.stop();
    this.store.forget(this);
    // Not renewed in time: revoke so its keys go now rather than when etcd notices.
    if ((err.details as { reason?: string } | undefined)?.reason === 'not_renewed')
      void this.store
        .call('write', (o) => this.store.rpc.leaseClient.leaseRevoke({ ID: this.id }, o))
        .catch(() => undefined);
    for (const cb of this.listeners) {
      try {
        cb(err);
      } catch (e) {
        console.error('keymesh store: a lease-loss callback threw:', e);
      }
    }
    this.listeners.clear();
  }
}
