// The node's append-only audit log on its own SQLite file (DIR/audit.db), kept per node even in
// a cluster. Appends are group-committed: every append made in one turn of the event loop goes
// into one transaction and one fsync, and each caller's promise resolves only once its entry is
// durable. If a commit fails, every caller in the batch is told AUDIT_UNAVAILABLE, and callers
// refuse to act (the design's "if the audit log cannot be written, the node refuses to sign").
import Database from 'better-sqlite3';
import { KeymeshError } from '../errors.js';
import { type AuditEntry, type AuditInput, entryHash, GENESIS_HASH, verifyChain, type VerifyResult } from './chain.js';

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

export class AuditLog {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement;
  private readonly nodeId: string;
  private readonly onCommit: AuditLogOptions['onCommit'];
  private queue: Pending[] = [];
  private scheduled = false;
  private closed = false;
  private headSeq: number;
  private headHash: string;

  constructor(opts: AuditLogOptions) {
    this.nodeId = opts.nodeId;
    this.onCommit = opts.onCommit;
    this.db = new Database(opts.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma(`busy_timeout = ${Math.trunc(opts.busyTimeoutMs ?? 5000)}`);
    this.db.exec('CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, entry TEXT NOT NULL) STRICT');
    this.insert = this.db.prepare('INSERT INTO audit (seq, entry) VALUES (?, ?)');
    const last = this.db.prepare('SELECT seq, entry FROM audit ORDER BY seq DESC LIMIT 1').get() as
      | { seq: number; entry: string }
      | undefined;
    this.headSeq = last?.seq ?? 0;
    this.headHash = last ? (JSON.parse(last.entry) as AuditEntry).hash : GENESIS_HASH;
  }

  /** Resolves once the entry is durable. */
  append(input: AuditInput): Promise<AuditEntry> {
    if (this.closed) return Promise.reject(new KeymeshError('AUDIT_UNAVAILABLE', 'The audit log is closed.'));
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const started = process.hrtime.bigint();
    const time = new Date().toISOString();
    const entries: AuditEntry[] = [];
    let seq = this.headSeq;
    let prevHash = this.headHash;
    for (const p of batch) {
      seq++;
      const base = { seq, time, node: this.nodeId, ...p.input, prevHash };
      const e: AuditEntry = { ...base, hash: entryHash(base) };
      entries.push(e);
      prevHash = e.hash;
    }
    try {
      this.db.transaction(() => {
        for (const e of entries) this.insert.run(e.seq, JSON.stringify(e));
      })();
    } catch (cause) {
      const err = new KeymeshError('AUDIT_UNAVAILABLE', 'The audit log cannot be written; the node refuses to act.', {
        cause,
      });
      for (const p of batch) p.reject(err);
      return;
    }
    this.headSeq = seq;
    this.headHash = prevHash;
    this.onCommit?.(Number(process.hrtime.bigint() - started) / 1e9, batch.length);
    for (let i = 0; i < batch.length; i++) batch[i]!.resolve(entries[i]!);
  }

  list(after: number, limit: number): AuditEntry[] {
    const rows = this.db
      .prepare('SELECT entry FROM audit WHERE seq > ? ORDER BY seq ASC LIMIT ?')
      .all(after, limit) as { entry: string }[];
    return rows.map((r) => JSON.parse(r.entry) as AuditEntry);
  }

  get head(): { seq: number; hash: string } {
    return { seq: this.headSeq, hash: this.headHash };
  }

  /** Write what is queued, then close. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.db.close();
  }
}

/** Verify an audit file's chain, read-only; safe while a node is running. */
export function verifyAuditFile(path: string): VerifyResult {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const stmt = db.prepare('SELECT seq, entry FROM audit ORDER BY seq ASC').raw(true);
    return verifyChain(stmt.iterate() as Iterable<[number, string]>);
  } finally {
    db.close();
  }
}
