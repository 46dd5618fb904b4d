// Prometheus metrics for one node: request counts and latency by route, signatures by algorithm,
// audit commit latency and batch size, refusals of unauthenticated requests, dropped log lines.
// Labels are route templates and codes, never ids or values
// from a request, so cardinality stays bounded and nothing secret reaches a metric.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { CoreMetrics } from './core/context.js';
import { droppedLogLines } from './log/sink.js';
import { hardenProcess } from './process/harden.js';

export class NodeMetrics implements CoreMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'keymesh_http_requests_total',
    help: 'HTTP requests by route, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'keymesh_http_request_duration_seconds',
    help: 'HTTP request latency by route and method.',
    labelNames: ['route', 'method'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  private readonly signatures = new Counter({
    name: 'keymesh_signatures_total',
    help: 'Signatures made, by algorithm.',
    labelNames: ['algorithm'] as const,
    registers: [this.registry],
  });
  private readonly auditCommit = new Histogram({
    name: 'keymesh_audit_commit_duration_seconds',
    help: 'Durable audit log commit latency (one commit may hold many entries).',
    buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers: [this.registry],
  });
  private readonly auditEntries = new Counter({
    name: 'keymesh_audit_entries_total',
    help: 'Audit entries written.',
    registers: [this.registry],
  });

  private readonly unauthenticated = new Counter({
    name: 'keymesh_unauthenticated_refusals_total',
    help: 'Requests refused for want of a valid token (audited in aggregate, not one by one).',
    registers: [this.registry],
  });

  constructor() {
    const h = hardenProcess();
    new Gauge({
      name: 'keymesh_process_dumpable',
      help: '1 when this process can be core-dumped or traced by its user (Linux PR_SET_DUMPABLE not applied), else 0.',
      registers: [this.registry],
    }).set(process.platform === 'linux' && !h.nonDumpable ? 1 : 0);
    // Process-wide (stderr is the process's): read from the log sink at each scrape.
    new Counter({
      name: 'keymesh_log_lines_dropped_total',
      help: 'Log and output lines dropped because stderr or stdout could not be written.',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(droppedLogLines());
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'keymesh_' });
  }

  request(route: string, method: string, status: number, seconds: number): void {
    this.requests.inc({ route, method, status: String(status) });
    this.latency.observe({ route, method }, seconds);
  }

  signed(algorithm: string): void {
    this.signatures.inc({ algorithm });
  }

  unauthenticatedRefused(): void {
    this.unauthenticated.inc();
  }

  auditCommitted(seconds: number, entries: number): void {
    this.auditCommit.observe(seconds);
    this.auditEntries.inc(entries);
  }
}
