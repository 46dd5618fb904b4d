// Refusals of requests that carry no valid token, audited in aggregate. Anyone who reaches the
// port can send those, and one durable (fsync'd) entry each would let them fill the disk and
// the writer's queue (thousands of entries a second). They are counted per source address and
// written as one entry per interval (and at stop) instead; a refusal of an authenticated caller
// (wrong scope, wrong key) names its caller and stays one entry each (core.ts).
import type { AuditInput } from './chain.js';

export const REFUSAL_ACTION = 'auth.refused';

export interface RefusalAggregatorOptions {
  append(input: AuditInput): Promise<unknown>;
  /** How often the counts are written (default 60 s). */
  intervalMs?: number;
  /** Distinct sources named per entry; the rest are summed under `otherSources` (bounds memory). */
  maxSources?: number;
}

export class RefusalAggregator {
  private readonly append: RefusalAggregatorOptions['append'];
  private readonly maxSources: number;
  private readonly timer: NodeJS.Timeout;
  private bySource = new Map<string, number>();
  private other = 0;
  private total = 0;
  private since = new Date();
  private closed = false;

  constructor(opts: RefusalAggregatorOptions) {
    this.append = opts.append;
    this.maxSources = opts.maxSources ?? 256;
    this.timer = setInterval(() => void this.flush(), opts.intervalMs ?? 60_000);
    this.timer.unref();
  }

  /** One refused request from `source` (its address; undefined when the interface has none). */
  record(source: string | undefined): void {
    const key = source === undefined || source.length === 0 || source.length > 64 ? 'unknown' : source;
    this.total++;
    const n = this.bySource.get(key);
    if (n !== undefined) this.bySource.set(key, n + 1);
    else if (this.bySource.size < this.maxSources) this.bySource.set(key, 1);
    else this.other++;
  }

  /** Write the counts since the last flush as one entry; nothing when there were none. */
  async flush(): Promise<void> {
    if (this.total === 0) return;
    const until = new Date();
    const bySource: Record<string, number> = {};
    for (const [k, v] of [...this.bySource.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) bySource[k] = v;
    const input: AuditInput = {
      actor: 'anonymous',
      action: REFUSAL_ACTION,
      outcome: 'denied',
      details: {
        code: 'UNAUTHENTICATED',
        count: this.total,
        since: this.since.toISOString(),
        until: until.toISOString(),
        bySource,
        ...(this.other > 0 ? { otherSources: this.other } : {}),
      },
    };
    this.bySource = new Map();
    this.other = 0;
    this.total = 0;
    this.since = until;
    try {
      await this.append(input);
    } catch {
      // The audit log refuses writes only when it cannot write at all; the node then refuses
      // every operation, and these counts are lost with the rest (the metric still has them).
    }
  }

  /** Stop the timer and write what is pending. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.flush();
  }
}
