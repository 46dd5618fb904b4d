// Reading everything under a prefix, a page at a time: the one paging loop over Store.list. A page
// shorter than asked for is the end (Store.list never cuts one short otherwise: limits.ts), and
// the next page starts strictly after the last key seen. Callers stop early by leaving the loop.
import { MAX_LIST_LIMIT } from './limits.js';
import type { Entry, Store } from './store.js';

export interface ScanOptions {
  /** Start strictly after this key (a listing's cursor). */
  after?: string;
  /** Entries per Store.list call: 1 to MAX_LIST_LIMIT; default 1000. */
  page?: number;
}

export async function* scan(store: Store, prefix: string, opts: ScanOptions = {}): AsyncGenerator<Entry> {
  const page = Math.min(opts.page ?? 1000, MAX_LIST_LIMIT);
  let after = opts.after;
  for (;;) {
    const entries = await store.list(prefix, { ...(after === undefined ? {} : { after }), limit: page });
    yield* entries;
    if (entries.length < page) return;
    after = entries[entries.length - 1]!.key;
  }
}

/** Every entry under the prefix, in key order. */
export async function scanAll(store: Store, prefix: string, opts: ScanOptions = {}): Promise<Entry[]> {
  const out: Entry[] = [];
  for await (const e of scan(store, prefix, opts)) out.push(e);
  return out;
}
