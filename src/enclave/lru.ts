// A small least-recently-used map with an optional idle limit and a hook run on every removal
// (eviction, expiry, delete, clear), so values holding secrets can be wiped when they leave.
// Map iteration order is insertion order; a hit re-inserts, so the first entry is the oldest.

export class Lru<K, V> {
  readonly #max: number;
  readonly #idleMs: number;
  readonly #onRemove: ((value: V, key: K) => void) | undefined;
  readonly #map = new Map<K, { value: V; at: number }>();

  constructor(opts: { max: number; idleMs?: number; onRemove?: (value: V, key: K) => void }) {
    if (!Number.isInteger(opts.max) || opts.max < 0)
      throw new Error('Lru: max must be a non-negative integer');
    this.#max = opts.max;
    this.#idleMs = opts.idleMs ?? Infinity;
    this.#onRemove = opts.onRemove;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: K, now = Date.now()): V | undefined {
    const e = this.#map.get(key);
    if (!e) return undefined;
    this.#map.delete(key);
    if (now - e.at > this.#idleMs) {
      this.#onRemove?.(e.value, key);
      return undefined;
    }
    e.at = now;
    this.#map.set(key, e);
    return e.value;
  }

  set(key: K, value: V, now = Date.now()): void {
    if (this.#max === 0) {
      this.#onRemove?.(value, key);
      return;
    }
    const old = this.#map.get(key);
    if (old) {
      this.#map.delete(key);
      if (old.value !== value) this.#onRemove?.(old.value, key);
    }
    this.#map.set(key, { value, at: now });
    while (this.#map.size > this.#max) {
      const [k, e] = this.#map.entries().next().value as [K, { value: V; at: number }];
      this.#map.delete(k);
      this.#onRemove?.(e.value, k);
    }
  }

  delete(key: K): boolean {
    const e = this.#map.get(key);
    if (!e) return false;
    this.#map.delete(key);
    this.#onRemove?.(e.value, key);
    return true;
  }

  /** Remove every entry whose key matches. */
  deleteWhere(pred: (key: K) => boolean): number {
    let n = 0;
    for (const k of [...this.#map.keys()]) if (pred(k) && this.delete(k)) n++;
    return n;
  }

  /** Drop entries idle longer than the limit. */
  sweep(now = Date.now()): void {
    for (const [k, e] of [...this.#map.entries()]) if (now - e.at > this.#idleMs) this.delete(k);
  }

  clear(): void {
    for (const k of [...this.#map.keys()]) this.delete(k);
  }
}
