// The node's append-only audit log on its own SQLite file (DIR/audit.db), kept per node even in
// a cluster. Appends are group-committed by a writer thread (writer.ts): while one batch is being
// made durable, the next accumulates, and each caller's promise resolves only once its own entry
// is durable. If a commit fails, every caller in that batch is told AUDIT_UNAVAILABLE and refuses
// to act (DESIGN.md: "if the audit log cannot be written, the node refuses to sign").
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { KeymeshError } from '../errors.js';
import { anchorPathFor, anchorProblem, readAnchor } from './anchor.js';
import { type AuditEntry, type AuditInput, verifyChain, type VerifyResult } from './chain.js';
import type { WriterInit, WriterRequest, WriterResponse } from './writer.js';

interface Pending {
  input: AuditInput;
  resolve: (e: AuditEntry) => void;
  reject: (e: unknown) => void;
}

export interface AuditLogOptions {
  path: string;
  nodeId: string;
  /** How long a commit waits for a lock held by another connection (default 5000 ms). */
  busyTimeoutMs?: number;
  /** Called with each commit's duration in seconds and its batch size (metrics). */
  onCommit?: (seconds: number, batch: number) => void;
}

/** The most entries one commit takes; more wait for the next. Bounds a commit's latency. */
const MAX_BATCH = 4096;

export class AuditLog {
  private readonly worker: Worker;
  private readonly reader: Database.Database;
  private readonly listStmt: Database.Statement;
  private readonly onCommit: AuditLogOptions['onCommit'];
  private queue: Pending[] = [];
  private inFlight: { id: number; batch: Pending[] } | undefined;
  private nextId = 1;
  private closed = false;
  private drained: (() => void) | undefined;

  private constructor(worker: Worker, opts: AuditLogOptions) {
    this.worker = worker;
    this.onCommit = opts.onCommit;
    this.reader = new Database(opts.path, { readonly: true, fileMustExist: true });
    this.listStmt = this.reader.prepare('SELECT entry FROM audit WHERE seq > ? ORDER BY seq ASC LIMIT ?');
    worker.on('message', (m: WriterResponse) => this.onMessage(m));
    worker.on('error', (e) => this.failAll(e));
    worker.on('exit', () => this.failAll(new Error('audit writer exited')));
  }

  static async open(opts: AuditLogOptions): Promise<AuditLog> {
    const init: WriterInit = {
      path: opts.path,
      anchorPath: anchorPathFor(opts.path),
      nodeId: opts.nodeId,
      busyTimeoutMs: opts.busyTimeoutMs ?? 5000,
    };
    const worker = new Worker(new URL('./writer.js', import.meta.url), {
      workerData: { kind: 'keymesh-audit-writer', init },
    });
    await new Promise<void>((resolve, reject) => {
      const onMsg = (m: WriterResponse) => {
        if (m.type === 'ready') {
          worker.off('error', reject);
          resolve();
        } else if (m.type === 'init-failed') {
          worker.off('error', reject);
          // A plain error: the caller names the file (node.ts startStep).
          reject(new Error(m.message));
        }
      };
      worker.once('message', onMsg);
      worker.once('error', reject);
    });
    return new AuditLog(worker, opts);
  }

  /** Resolves once the entry is durable. */
  append(input: AuditInput): Promise<AuditEntry> {
    if (this.closed) return Promise.reject(new KeymeshError('AUDIT_UNAVAILABLE', 'The audit log is closed.'));
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      this.send();
    });
  }

  private send(): void {
    if (this.inFlight || this.queue.length === 0) return;
    const batch = this.queue.length <= MAX_BATCH ? this.queue : this.queue.slice(0, MAX_BATCH);
    this.queue = this.queue.length <= MAX_BATCH ? [] : this.queue.slice(MAX_BATCH);
    const id = this.nextId++;
    this.inFlight = { id, batch };
    this.worker.postMessage({ type: 'batch', id, inputs: batch.map((p) => p.input) } satisfies WriterRequest);
  }

  private onMessage(m: WriterResponse): void {
    if (m.type === 'committed' || m.type === 'failed') {
      const f = this.inFlight;
      if (!f || f.id !== m.id) return;
      this.inFlight = undefined;
      if (m.type === 'committed') {
        this.onCommit?.(m.seconds, f.batch.length);
        for (let i = 0; i < f.batch.length; i++) f.batch[i]!.resolve(m.entries[i]!);
      } else {
        const err = new KeymeshError(
          'AUDIT_UNAVAILABLE',
          'The audit log cannot be written; the node refuses to act.',
        );
        for (const p of f.batch) p.reject(err);
      }
      this.send();
      if (!this.inFlight && this.queue.length === 0) this.drained?.();
    }
  }

  private failAll(cause: unknown): void {
    const err = new KeymeshError(
      'AUDIT_UNAVAILABLE',
      'The audit log cannot be written; the node refuses to act.',
      {
        cause,
      },
    );
    for (const p of [...(this.inFlight?.batch ?? []), ...this.queue]) p.reject(err);
    this.inFlight = undefined;
    this.queue = [];
    this.closed = true;
    this.drained?.();
  }

  list(after: number, limit: number): AuditEntry[] {
    return (this.listStmt.all(after, limit) as { entry: string }[]).map(
      (r) => JSON.parse(r.entry) as AuditEntry,
    );
  }

  /** Write what is queued, then close. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.inFlight || this.queue.length > 0) await new Promise<void>((res) => (this.drained = res));
    this.closed = true;
    this.reader.close();
    await new Promise<void>((res) => {
      this.worker.once('exit', () => res());
      this.worker.postMessage({ type: 'close' } satisfies WriterRequest);
      setTimeout(() => void this.worker.terminate(), 2000).unref();
    });
  }
}

/**
 * Verify an audit file's chain and that it reaches its anchor (DIR/audit.head), read-only; safe
 * while a node is running (the anchor is read first: it never runs ahead of the log).
 */
export function verifyAuditFile(path: string): VerifyResult {
  const anchorPath = anchorPathFor(path);
  const anchor = readAnchor(anchorPath);
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const stmt = db.prepare('SELECT seq, entry FROM audit ORDER BY seq ASC').raw(true);
    const r = verifyChain(stmt.iterate() as Iterable<[number, string]>);
    if (!r.ok || !anchor) return r;
    const last = r.head?.seq ?? 0;
    const byseq = db.prepare('SELECT entry FROM audit WHERE seq = ?').pluck();
    // The chain is whole here, so each stored hash is the entry's own.
    const hashAt = (seq: number) => {
      const json = byseq.get(seq) as string | undefined;
      return json === undefined ? undefined : (JSON.parse(json) as AuditEntry).hash;
    };
    const problem = anchorProblem(anchor, last, hashAt, anchorPath);
    if (problem === undefined) return r;
    // The first entry the log lacks, or the anchored entry that is not the one recorded.
    return { ...r, ok: false, brokenAt: last < anchor.seq ? last + 1 : anchor.seq, reason: problem };
  } finally {
    db.close();
  }
}
