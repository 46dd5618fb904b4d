// Number formatting and latency percentiles shared by the benchmark's parts.

/** `n` with thousands separators and exactly `d` decimals. */
export const fmt = (n: number, d = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

export interface Percentiles {
  p50ms: number;
  p99ms: number;
}

/** p50 and p99 of latencies in milliseconds (sorts `latencies` in place; NaN when empty). */
export function percentiles(latencies: number[]): Percentiles {
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? NaN;
  return { p50ms: pct(0.5), p99ms: pct(0.99) };
}
