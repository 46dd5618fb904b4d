// Watches of the etcd store: a prefix watch from now or from a revision, delivered as Store
// WatchEvents in order and exactly once across reconnects (the store resumes from the revision after
// the last delivered event, not etcd3's header-based guess), and ended with UNAVAILABLE when etcd
// cancels it (typically a compacted start revision).
import type { Etcd3, IWatchResponse, Watcher } from 'etcd3';
import { KeymeshError, invalid } from '../../errors.js';
import { checkPrefix, closedError, prefixEnd } from '../limits.js';
import type { WatchEvent, WatchOptions } from '../store.js';
import { num, ZERO } from './client.js';

/** A watch the store cancels when it closes. */
export interface LiveWatch {
  watcher: Watcher;
  active: boolean;
}

/** What a watch needs from the store that opens it. */
export interface WatchHost {
  client: Etcd3;
  /** How long etcd may take to start the watch. */
  opTimeoutMs: number;
  /** The live watches; this one joins once started and leaves when it ends. */
  watches: Set<LiveWatch>;
  isClosed: () => boolean;
  /** A key with and without the store's namespace. */
  toEtcdKey: (key: string) => Buffer;
  fromEtcdKey: (key: Buffer) => string;
}

/** EtcdStore.watchFrom: resolves once etcd has started the watch, to a function that stops it. */
export async function watchPrefix(
  host: WatchHost,
  prefix: string,
  fromRevision: number | undefined,
  onEvent: (ev: WatchEvent) => void,
  opts?: WatchOptions,
): Promise<() => void> {
  checkPrefix(prefix);
  if (fromRevision !== undefined && (!Number.isSafeInteger(fromRevision) || fromRevision < 1))
    throw invalid('fromRevision must be a whole number ≥ 1');
  if (host.isClosed()) throw closedError('etcd');
  const p = host.toEtcdKey(prefix);
  const builder = host.client.watch().inRange({ start: p.length ? p : ZERO, end: prefixEnd(p) ?? ZERO });
  if (fromRevision !== undefined) builder.startRevision(String(fromRevision));
  const watcher = builder.watcher();
  const live: LiveWatch = { watcher, active: true };
  let started = false; // true once `watch` has resolved
  // The next revision to deliver; 0 until the server has told us where the watch starts.
  let next = fromRevision ?? 0;
  const report = (e: unknown) => {
    const err = e instanceof Error ? e : new Error(String(e));
    if (opts?.onError) opts.onError(err);
    else console.error('keymesh store: watch error:', err);
  };
  // Resume point for etcd3's reconnect: ours, not its header-based guess (see module header).
  // Listeners run in registration order, so these run after etcd3's own and override it.
  const pin = () => {
    if (next > 0) watcher.request.start_revision = String(next);
  };

  const created = new Promise<void>((resolve, reject) => {
    watcher.once('connected', () => resolve());
    watcher.once('error', reject);
  });
  watcher.on('connected', (res: IWatchResponse) => {
    if (next === 0) next = num(res.header.revision) + 1;
    pin();
  });
  watcher.on('data', (res: IWatchResponse) => {
    if (res.events.length === 0) {
      // A progress notification: etcd sends one only once it has sent everything up to it.
      next = Math.max(next, num(res.header.revision) + 1);
    }
    for (const ev of res.events) {
      const rev = num(ev.kv.mod_revision);
      // Already delivered before a reconnect. Events of one revision arrive in one response
      // (etcd batches by revision, and this watch does not ask for fragments), and `next` moves
      // only after the whole response, so a txn's later events are not mistaken for replays.
      if (rev < next || !live.active) continue;
      const isPut = ev.type === 'Put';
      try {
        onEvent({
          type: isPut ? 'put' : 'delete',
          key: host.fromEtcdKey(ev.kv.key),
          value: isPut ? ev.kv.value.toString('utf8') : undefined,
          modRevision: rev,
        });
      } catch (e) {
        report(e);
      }
    }
    const last = res.events[res.events.length - 1];
    if (last) next = Math.max(next, num(last.kv.mod_revision) + 1);
    pin();
  });
  // An 'error' is etcd cancelling the watch, typically because the revision it must start or
  // resume from was compacted. Before `watch` resolves it becomes the rejection, after it the
  // onError report.
  let ended: KeymeshError | undefined;
  watcher.on('error', (e: unknown) => {
    if (ended || !live.active) return;
    ended = new KeymeshError('UNAVAILABLE', 'The watch ended; reload and watch again.', {
      cause: e,
      details: { prefix, nextRevision: next },
    });
    live.active = false;
    host.watches.delete(live);
    if (started) report(ended);
  });

  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      created,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new KeymeshError('UNAVAILABLE', 'The etcd cluster did not start the watch in time.')),
          host.opTimeoutMs,
        );
      }),
    ]);
  } catch (e) {
    live.active = false;
    void watcher.cancel().catch(() => undefined);
    throw e instanceof KeymeshError
      ? e
      : new KeymeshError('UNAVAILABLE', 'The etcd cluster refused the watch.', { cause: e });
  } finally {
    clearTimeout(timer);
  }
  if (ended) throw ended;
  if (host.isClosed()) {
    live.active = false;
    void watcher.cancel().catch(() => undefined);
    throw closedError('etcd');
  }
  started = true;
  host.watches.add(live);
  return () => {
    if (!live.active) return;
    live.active = false;
    host.watches.delete(live);
    void watcher.cancel().catch(() => undefined);
  };
}
