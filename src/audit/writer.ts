// The audit writer thread: owns the only writable connection to the audit file and commits one
// batch per transaction (one fsync). It assigns sequence numbers and chain hashes itself, so the
// chain's head lives in exactly one place. Running here keeps the fsync off the thread that
// serves requests. At open it refuses a log cut short under its anchor (anchor.ts); it moves the
// anchor to the new head at most once a second while running (an fsync'd anchor after every
// commit halved the commit rate) and exactly at close.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { anchorProblem, readAnchor, writeAnchor } from './anchor.js';
import { type AuditEntry, type AuditInput, entryHash, GENESIS_HASH } from './chain.js';

export interface WriterInit {
  path: string;
  anchorPath: string;
  nodeId: string;
  busyTimeoutMs: number;
}

export type WriterRequest = { type: 'batch'; id: number; inputs: AuditInput[] } | { type: 'close' };
export type WriterResponse =
  | { type: 'ready' }
  | { type: 'init-failed'; message: string }
  | { type: 'committed'; id: number; entries: AuditEntry[]; seconds: number }
  | { type: 'failed'; id: number; message: string }
  | { type: 'closed' };

/** The stored hash of an entry, or undefined when the row is missing or not an entry. */
function storedHash(json: string | undefined): string | undefined {
  if (json === undefined) return undefined;
  try {
    const h = (JSON.parse(json) as { hash?: unknown } | null)?.hash;
    return typeof h === 'string' ? h : undefined;
  } catch {
    return undefined;
  }
}

/** How far the anchor may lag a running log (a crash leaves it at most this far behind). */
const ANCHOR_INTERVAL_MS = 1000;

function run(init: WriterInit): void {
  const port = parentPort!;
  let opened: ReturnType<typeof open>;
  try {
    opened = open(init);
  } catch (e) {
    port.postMessage({ type: 'init-failed', message: (e as Error).message } satisfies WriterResponse);
    port.close();
    return;
  }
  serve(init, port, opened);
}

function open(init: WriterInit) {
  const db = new Database(init.path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma(`busy_timeout = ${Math.trunc(init.busyTimeoutMs)}`);
  db.exec('CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, entry TEXT NOT NULL) STRICT');
  const insert = db.prepare('INSERT INTO audit (seq, entry) VALUES (?, ?)');
  const last = db.prepare('SELECT seq, entry FROM audit ORDER BY seq DESC LIMIT 1').get() as
    { seq: number; entry: string } | undefined;
  const headSeq = last?.seq ?? 0;
  const headHash = last ? storedHash(last.entry) : GENESIS_HASH;
  if (headHash === undefined) {
    db.close();
    throw new Error(
      `the last audit entry (${headSeq}) in ${init.path} is unreadable; run keymesh audit verify`,
    );
  }
  const byseq = db.prepare('SELECT entry FROM audit WHERE seq = ?').pluck();
  const anchor = readAnchor(init.anchorPath);
  const problem =
    anchor &&
    anchorProblem(
      anchor,
      headSeq,
      (seq) => storedHash(byseq.get(seq) as string | undefined),
      init.anchorPath,
    );
  if (problem) {
    db.close();
    throw new Error(
      `${problem}. Restore the log from a backup, or, having looked into it, move ${init.anchorPath} aside to go on from the log as it is`,
    );
  }
  // A log from before anchors existed gets one now.
  if (!anchor && headSeq > 0) writeAnchor(init.anchorPath, { seq: headSeq, hash: headHash });
  return { db, insert, headSeq, headHash };
}

function serve(init: WriterInit, port: NonNullable<typeof parentPort>, o: ReturnType<typeof open>): void {
  const { db, insert } = o;
  let headSeq = o.headSeq;
  let headHash = o.headHash;
  let anchoredSeq = o.headSeq;
  let lastAnchorAt = 0;
  let anchorTimer: NodeJS.Timeout | undefined;
  const anchor = () => {
    if (anchorTimer) clearTimeout(anchorTimer);
    anchorTimer = undefined;
    if (anchoredSeq === headSeq) return;
    try {
      writeAnchor(init.anchorPath, { seq: headSeq, hash: headHash });
      anchoredSeq = headSeq;
      lastAnchorAt = Date.now();
    } catch {
      // The entries are durable; an anchor left behind the log only checks less at next start.
    }
  };

  port.on('message', (msg: WriterRequest) => {
    if (msg.type === 'close') {
      anchor();
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
    const wait = lastAnchorAt + ANCHOR_INTERVAL_MS - Date.now();
    if (wait <= 0) anchor();
    else anchorTimer ??= setTimeout(anchor, wait);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    port.postMessage({ type: 'committed', id: msg.id, entries, seconds } satisfies WriterResponse);
  });
  port.postMessage({ type: 'ready' } satisfies WriterResponse);
}

if (parentPort && (workerData as { kind?: string } | undefined)?.kind === 'keymesh-audit-writer')
  run((workerData as { init: WriterInit }).init);
