// The audit writer thread: owns the only writable connection to the audit file and commits one
// batch per transaction (one fsync). It assigns sequence numbers and chain hashes itself, so the
// chain's head lives in exactly one place. Running here keeps the fsync off the thread that
// serves requests.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { type AuditEntry, type AuditInput, entryHash, GENESIS_HASH } from './chain.js';

export interface WriterInit {
  path: string;
  nodeId: string;
  busyTimeoutMs: number;
}

export type WriterRequest = { type: 'batch'; id: number; inputs: AuditInput[] } | { type: 'close' };
export type WriterResponse =
  | { type: 'ready' }
  | { type: 'committed'; id: number; entries: AuditEntry[]; seconds: number }
  | { type: 'failed'; id: number; message: string }
  | { type: 'closed' };

function run(init: WriterInit): void {
  const port = parentPort!;
  const db = new Database(init.path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma(`busy_timeout = ${Math.trunc(init.busyTimeoutMs)}`);
  db.exec('CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, entry TEXT NOT NULL) STRICT');
  const insert = db.prepare('INSERT INTO audit (seq, entry) VALUES (?, ?)');
  const last = db.prepare('SELECT seq, entry FROM audit ORDER BY seq DESC LIMIT 1').get() as
    { seq: number; entry: string } | undefined;
  let headSeq = last?.seq ?? 0;
  let headHash = last ? (JSON.parse(last.entry) as AuditEntry).hash : GENESIS_HASH;

  port.on('message', (msg: WriterRequest) => {
    if (msg.type === 'close') {
      db.close();
      port.postMessage({ type: 'closed' } satisfies WriterResponse);
      port.close(); // lets the thread end
      return;
    }
    const started = process.hrtime.bigint();
    const time = new Date().toISOString();
    const entries: AuditEntry[] = [];
    let seq = headSeq;
    let prevHash = headHash;
    for (const input of msg.inputs) {
      seq++;
      const base = { seq, time, node: init.nodeId, ...input, prevHash };
      const e: AuditEntry = { ...base, hash: entryHash(base) };
      entries.push(e);
      prevHash = e.hash;
    }
    try {
      db.transaction(() => {
        for (const e of entries) insert.run(e.seq, JSON.stringify(e));
      })();
    } catch (e) {
      port.postMessage({
        type: 'failed',
        id: msg.id,
        message: (e as Error).message,
      } satisfies WriterResponse);
      return;
    }
    headSeq = seq;
    headHash = prevHash;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    port.postMessage({ type: 'committed', id: msg.id, entries, seconds } satisfies WriterResponse);
  });
  port.postMessage({ type: 'ready' } satisfies WriterResponse);
}

if (parentPort && (workerData as { kind?: string } | undefined)?.kind === 'keymesh-audit-writer')
  run((workerData as { init: WriterInit }).init);
