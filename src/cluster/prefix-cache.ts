// A local copy of every etcd entry under one prefix, kept current by the list-then-watch pattern:
// `listWithRevision` gives a snapshot at revision R, `watchFrom(prefix, R + 1)` then delivers every
// later change exactly once, in revision order, so the copy never misses an update. When the watch
// ends (etcd compacted the history a reconnect needed), the cache lists again and resumes, and
// reports the difference as changes. Membership's view of the cluster is built on two of these.
import { KeymeshError } from '../errors.js';
import type { EtcdStore } from '../store/etcd.js';
import type { WatchEvent } from '../store/store.js';

export interface CachedEntry {
  value: string;
  modRevision: number;
}

export interface PrefixChange {
  key: string;
  /** undefined: the key is gone. */
  value: string | undefined;
  previous: string | undefined;
  modRevision: number;
}

export interface PrefixCacheOptions {
  /** Called after each applied change (and for each difference found by a reload). */
  onChange?: (change: PrefixChange) => void;
  /** Watch failures and reload failures; the cache keeps trying. Default: console.error. */
  onError?: (err: Error) => void;
  /** A listing bound; the cluster prefixes are small (one entry per node). Default 10 000. */
  limit?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class PrefixCache {
  private readonly map = new Map<string, CachedEntry>();
  private stopWatch: (() => void) | undefined;
  private closed = false;
  private reloading: Promise<void> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly waiters = new Set<{ revision: number; resolve: () => void; timer: NodeJS.Timeout }>();
  /** The revision this copy is known to reflect, at least. */
  private rev = 0;

  private constructor(
    private readonly store: EtcdStore,
    readonly prefix: string,
    private readonly opts: PrefixCacheOptions,
  ) {}

  static async start(store: EtcdStore, prefix: string, opts: PrefixCacheOptions = {}): Promise<PrefixCache> {
    const c = new PrefixCache(store, prefix, opts);
    await c.serially(() => c.load());
    return c;
  }

  get revision(): number {
    return this.rev;
  }

  /**
   * Resolves once the copy reflects `revision` (a write under this prefix at that revision, e.g.
   * one's own, has been applied); UNAVAILABLE after `timeoutMs`. Only for revisions of writes
   * under the prefix: other writes do not move this copy's revision.
   */
  async waitForRevision(revision: number, timeoutMs: number): Promise<void> {
    if (this.rev >= revision) return;
    await new Promise<void>((resolve, reject) => {
      const w = {
        revision,
        resolve,
        timer: setTimeout(() => {
          this.waiters.delete(w);
          reject(
            new KeymeshError(
              'UNAVAILABLE',
              `the watch of ${this.prefix} did not reach revision ${revision} in time`,
            ),
          );
        }, timeoutMs),
      };
      this.waiters.add(w);
    });
  }

  get(key: string): CachedEntry | undefined {
    return this.map.get(key);
  }

  entries(): [string, CachedEntry][] {
    return [...this.map.entries()];
  }

  /**
   * List again at a fresh (linearizable) revision and resume watching from there, reporting what
   * changed. After it resolves the copy reflects at least every write committed before the call.
   * On failure the cache keeps retrying in the background, and the call rejects.
   */
  async resync(): Promise<void> {
    if (this.closed) throw new KeymeshError('UNAVAILABLE', 'the cache is closed');
    try {
      await this.serially(() => this.load());
    } catch (e) {
      this.lostWatch(e instanceof Error ? e : new Error(String(e)));
      throw e;
    }
  }

  close(): void {
    this.closed = true;
    for (const w of this.waiters) clearTimeout(w.timer);
    this.waiters.clear();
    this.stopWatch?.();
    this.stopWatch = undefined;
  }

  /** Loads never overlap: each replaces the watch of the one before. */
  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Snapshot, diff against the current copy, then watch from just after the snapshot. */
  private async load(): Promise<void> {
    this.stopWatch?.();
    this.stopWatch = undefined;
    const { entries, revision } = await this.store.listWithRevision(this.prefix, {
      limit: this.opts.limit ?? 10_000,
    });
    if (this.closed) return;
    const fresh = new Map(entries.map((e) => [e.key, { value: e.value, modRevision: e.modRevision }]));
    const changes: PrefixChange[] = [];
    for (const [key, old] of this.map)
      if (!fresh.has(key))
        changes.push({ key, value: undefined, previous: old.value, modRevision: revision });
    for (const [key, e] of fresh) {
      const old = this.map.get(key);
      if (!old || old.modRevision !== e.modRevision)
        changes.push({ key, value: e.value, previous: old?.value, modRevision: e.modRevision });
    }
    this.map.clear();
    for (const [k, v] of fresh) this.map.set(k, v);
    this.rev = Math.max(this.rev, revision);
    for (const c of changes) this.emit(c);
    this.advanced();
    this.stopWatch = await this.store.watchFrom(this.prefix, revision + 1, (ev) => this.apply(ev), {
      onError: (err) => this.lostWatch(err),
    });
    if (this.closed) this.stopWatch();
  }

  private apply(ev: WatchEvent): void {
    const previous = this.map.get(ev.key)?.value;
    if (ev.type === 'put') this.map.set(ev.key, { value: ev.value ?? '', modRevision: ev.modRevision });
    else this.map.delete(ev.key);
    this.rev = Math.max(this.rev, ev.modRevision);
    this.emit({
      key: ev.key,
      value: ev.type === 'put' ? ev.value : undefined,
      previous,
      modRevision: ev.modRevision,
    });
    this.advanced();
  }

  private advanced(): void {
    for (const w of this.waiters)
      if (this.rev >= w.revision) {
        clearTimeout(w.timer);
        this.waiters.delete(w);
        w.resolve();
      }
  }

  private emit(c: PrefixChange): void {
    try {
      this.opts.onChange?.(c);
    } catch (e) {
      this.report(e);
    }
  }

  private report(e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e));
    if (this.opts.onError) this.opts.onError(err);
    else console.error(`keymesh cluster: watch of ${this.prefix}:`, err);
  }

  /** The watch ended (compaction, or etcd cancelled it): list again and resume, until closed. */
  private lostWatch(err: Error): void {
    if (this.closed) return;
    this.report(err);
    this.stopWatch = undefined;
    if (this.reloading) return;
    this.reloading = (async () => {
      let backoff = 50;
      while (!this.closed) {
        try {
          await this.serially(() => this.load());
          return;
        } catch (e) {
          this.report(
            e instanceof KeymeshError ? e : new KeymeshError('UNAVAILABLE', 'reload failed', { cause: e }),
          );
          await sleep(backoff);
          backoff = Math.min(backoff * 2, 2000);
        }
      }
    })().finally(() => (this.reloading = undefined));
  }
}
