// The single-node Store: one SQLite file (better-sqlite3), WAL journal with synchronous=FULL so a
// resolved write survives kill -9 and power loss. Owns the on-disk schema (kv rows, the store
// revision, the schema version) and in-process watches.
//
// One writer process: watches see only writes made through this process's SqliteStore. Another
// process writing the same file keeps the data consistent (SQLite locks, revision read inside each
// write transaction) but its writes raise no events here.
//
// better-sqlite3 is synchronous: each call blocks the event loop for its duration (a write, for
// its fsync). That serialises this process's writes for free; the async methods only keep the
// Store interface the same as etcd's.
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { KeymeshError } from '../errors.js';
import {
  MAX_LIST_BYTES,
  checkKey,
  checkList,
  checkPrefix,
  checkTxn,
  checkValue,
  closedError,
  listTooLarge,
  prefixEnd,
} from './limits.js';
import type { Compare, Entry, ListOptions, Op, Store, TxnResult, WatchEvent, WatchOptions } from './store.js';

/** Version of the tables below. A file with a higher version was written by a newer Keymesh. */
export const SQLITE_SCHEMA_VERSION = 1;

export interface SqliteStoreOptions {
  /** How long a write waits for another connection's lock before UNAVAILABLE. Default 5000 ms. */
  busyTimeoutMs?: number;
}

interface Row {
  key: Buffer;
  value: string;
  create_rev: number;
  mod_rev: number;
}

interface Watcher {
  prefix: string;
  onEvent: (ev: WatchEvent) => void;
  onError: ((err: Error) => void) | undefined;
  active: boolean;
}

interface WriteOutcome {
  ok: boolean;
  revision: number;
  events: WatchEvent[];
}

// Keys are stored as BLOBs of their UTF-8 bytes: SQLite compares BLOBs with memcmp, which is
// etcd's key order, and a prefix range [prefix, prefixEnd) needs no valid-UTF-8 upper bound.
const SCHEMA = `
  CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
  CREATE TABLE kv (
    key BLOB PRIMARY KEY,
    value TEXT NOT NULL,
    create_rev INTEGER NOT NULL,
    mod_rev INTEGER NOT NULL
  );
`;

const enc = (s: string) => Buffer.from(s, 'utf8');

/** ':memory:' opens a private in-memory store: for other modules' unit tests, never durable. */
const MEMORY = ':memory:';

export async function openSqliteStore(path: string, opts: SqliteStoreOptions = {}): Promise<SqliteStore> {
  return SqliteStore.open(path, opts);
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly path: string;
  private readonly db: Database.Database;
  private closed = false;
  private readonly watchers = new Set<Watcher>();
  private readonly pending: { w: Watcher; ev: WatchEvent }[] = [];
  private draining = false;

  private readonly stmt: {
    get: Database.Statement<[Buffer], Row>;
    listTo: Database.Statement<[Buffer, Buffer, number], Row>;
    listAll: Database.Statement<[Buffer, number], Row>;
    modRev: Database.Statement<[Buffer], { mod_rev: number }>;
    upsert: Database.Statement<[Buffer, string, number, number]>;
    del: Database.Statement<[Buffer]>;
    revision: Database.Statement<[], { value: number }>;
    setRevision: Database.Statement<[number]>;
  };
  private readonly write: (compares: Compare[], ops: Op[]) => WriteOutcome;

  static open(path: string, opts: SqliteStoreOptions = {}): SqliteStore {
    if (path !== MEMORY) {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      // Create the file 0600 before SQLite does (it would use the umask); SQLite gives the -wal
      // and -shm files the database file's mode.
      closeSync(openSync(path, 'a', 0o600));
    }
    let db: Database.Database;
    try {
      db = new Database(path);
    } catch (e) {
      throw mapError(e, 'open');
    }
    try {
      return new SqliteStore(path, db, opts);
    } catch (e) {
      db.close();
      throw e instanceof KeymeshError ? e : mapError(e, 'open');
    }
  }

  private constructor(path: string, db: Database.Database, opts: SqliteStoreOptions) {
    this.path = path;
    this.db = db;
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal' && path !== MEMORY)
      throw new KeymeshError('UNAVAILABLE', 'The store file system does not support SQLite WAL mode.', {
        details: { journalMode: mode },
      });
    // FULL: the WAL is fsync'd at every commit, so a resolved write survives power loss.
    db.pragma('synchronous = FULL');
    // Bound the WAL file left on disk after a checkpoint (it is reused, not grown, afterwards).
    db.pragma('journal_size_limit = 67108864');
    this.migrate();

    this.stmt = {
      get: db.prepare('SELECT key, value, create_rev, mod_rev FROM kv WHERE key = ?'),
      listTo: db.prepare(
        'SELECT key, value, create_rev, mod_rev FROM kv WHERE key >= ? AND key < ? ORDER BY key LIMIT ?',
      ),
      listAll: db.prepare(
        'SELECT key, value, create_rev, mod_rev FROM kv WHERE key >= ? ORDER BY key LIMIT ?',
      ),
      modRev: db.prepare('SELECT mod_rev FROM kv WHERE key = ?'),
      upsert: db.prepare(
        `INSERT INTO kv (key, value, create_rev, mod_rev) VALUES (?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, mod_rev = excluded.mod_rev`,
      ),
      del: db.prepare('DELETE FROM kv WHERE key = ?'),
      revision: db.prepare("SELECT value FROM meta WHERE name = 'revision'"),
      setRevision: db.prepare("UPDATE meta SET value = ? WHERE name = 'revision'"),
    };

    const apply = db.transaction((compares: Compare[], ops: Op[]): WriteOutcome => {
      // Read inside the write lock, so a second process's writes are counted too.
      const current = this.stmt.revision.get()!.value;
      for (const c of compares) {
        const mod = this.stmt.modRev.get(enc(c.key))?.mod_rev ?? 0;
        if (mod !== c.modRevision) return { ok: false, revision: current, events: [] };
      }
      const rev = current + 1;
      const events: WatchEvent[] = [];
      for (const op of ops) {
        if (op.type === 'put') {
          this.stmt.upsert.run(enc(op.key), op.value, rev, rev);
          events.push({ type: 'put', key: op.key, value: op.value, modRevision: rev });
        } else if (this.stmt.del.run(enc(op.key)).changes > 0) {
          events.push({ type: 'delete', key: op.key, value: undefined, modRevision: rev });
        }
      }
      // Like etcd: a txn that changed nothing (no ops, or deletes of absent keys) is not a revision.
      if (events.length === 0) return { ok: true, revision: current, events };
      this.stmt.setRevision.run(rev);
      return { ok: true, revision: rev, events };
    });
    // IMMEDIATE takes the write lock at BEGIN: no read-then-upgrade deadlock with another process.
    this.write = (compares, ops) => apply.immediate(compares, ops);
  }

  /** Creates the tables in a new file; refuses a file from a newer schema or another program. */
  private migrate(): void {
    this.db
      .transaction(() => {
        const tables = this.db
          .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
          .all()
          .map((r) => r.name);
        if (tables.length === 0) {
          this.db.exec(SCHEMA);
          this.db
            .prepare('INSERT INTO meta (name, value) VALUES (?, ?), (?, ?)')
            .run('schema_version', SQLITE_SCHEMA_VERSION, 'revision', 0);
          return;
        }
        const version = tables.includes('meta')
          ? this.db
              .prepare<[], { value: number }>("SELECT value FROM meta WHERE name = 'schema_version'")
              .get()?.value
          : undefined;
        if (version === undefined || !tables.includes('kv'))
          throw new KeymeshError('UNAVAILABLE', 'The store file is not a Keymesh store.', {
            details: { path: this.path },
          });
        if (version > SQLITE_SCHEMA_VERSION)
          throw new KeymeshError(
            'UNAVAILABLE',
            'The store file was written by a newer version of Keymesh; upgrade Keymesh to open it.',
            { details: { path: this.path, schemaVersion: version, supported: SQLITE_SCHEMA_VERSION } },
          );
        // version < SQLITE_SCHEMA_VERSION: migrations go here when there is a version 2.
      })
      .immediate();
  }

  async get(key: string): Promise<Entry | undefined> {
    checkKey(key);
    const row = this.run('read', () => this.stmt.get.get(enc(key)));
    return row && toEntry(row);
  }

  async list(prefix: string, opts?: ListOptions): Promise<Entry[]> {
    const limit = checkList(prefix, opts);
    const p = enc(prefix);
    let start = p;
    if (opts?.after !== undefined) {
      const a = enc(opts.after);
      // after + 0x00 is the smallest key strictly greater than `after`.
      if (Buffer.compare(a, p) >= 0) start = Buffer.concat([a, Buffer.of(0)]);
    }
    const end = prefixEnd(p);
    if (end && Buffer.compare(start, end) >= 0) return [];
    return this.run('read', () => {
      const out: Entry[] = [];
      let bytes = 0;
      for (const row of end
        ? this.stmt.listTo.iterate(start, end, limit)
        : this.stmt.listAll.iterate(start, limit)) {
        bytes += row.key.length + Buffer.byteLength(row.value);
        if (bytes > MAX_LIST_BYTES) throw listTooLarge(); // iterate() is closed by the throw
        out.push(toEntry(row));
      }
      return out;
    });
  }

  async put(key: string, value: string): Promise<number> {
    checkKey(key);
    checkValue(value);
    return this.commit([], [{ type: 'put', key, value }]).revision;
  }

  async delete(key: string): Promise<boolean> {
    checkKey(key);
    return this.commit([], [{ type: 'delete', key }]).events.length > 0;
  }

  async txn(compares: Compare[], ops: Op[]): Promise<TxnResult> {
    checkTxn(compares, ops);
    const { ok, revision } = this.commit(compares, ops);
    return { ok, revision };
  }

  async watch(prefix: string, onEvent: (ev: WatchEvent) => void, opts?: WatchOptions): Promise<() => void> {
    checkPrefix(prefix);
    if (this.closed) throw closedError(this.kind);
    const w: Watcher = { prefix, onEvent, onError: opts?.onError, active: true };
    this.watchers.add(w);
    return () => {
      // Also drops events already queued for it: none is delivered after this returns.
      w.active = false;
      this.watchers.delete(w);
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.watchers) w.active = false;
    this.watchers.clear();
    this.db.close();
  }

  private commit(compares: Compare[], ops: Op[]): WriteOutcome {
    const out = this.run('write', () => this.write(compares, ops));
    // Committed (and fsync'd) by now: queue the events, deliver them outside the write call so a
    // throwing or re-entrant watcher cannot disturb the writer.
    for (const ev of out.events)
      for (const w of this.watchers) if (ev.key.startsWith(w.prefix)) this.pending.push({ w, ev });
    if (this.pending.length > 0 && !this.draining) {
      this.draining = true;
      queueMicrotask(() => this.drain());
    }
    return out;
  }

  private drain(): void {
    // A watcher that writes from its callback appends to `pending`; this loop picks it up in order.
    for (let item = this.pending.shift(); item; item = this.pending.shift()) {
      if (!item.w.active) continue;
      try {
        item.w.onEvent(item.ev);
      } catch (e) {
        reportWatchError(item.w.onError, e);
      }
    }
    this.draining = false;
  }

  private run<T>(kind: 'read' | 'write', fn: () => T): T {
    if (this.closed) throw closedError(this.kind);
    try {
      return fn();
    } catch (e) {
      throw e instanceof KeymeshError ? e : mapError(e, kind);
    }
  }
}

function toEntry(r: Row): Entry {
  return {
    key: r.key.toString('utf8'),
    value: r.value,
    createRevision: r.create_rev,
    modRevision: r.mod_rev,
  };
}

function reportWatchError(onError: ((err: Error) => void) | undefined, e: unknown): void {
  const err = e instanceof Error ? e : new Error(String(e));
  if (onError) onError(err);
  else console.error('keymesh store: a watch callback threw:', err);
}

function mapError(e: unknown, kind: 'read' | 'write' | 'open'): KeymeshError {
  const code =
    typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : '';
  const opts = { cause: e, details: { sqlite: code } as Record<string, unknown> };
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code.startsWith('SQLITE_LOCKED'))
    return new KeymeshError('UNAVAILABLE', 'The store is busy; try again.', opts);
  if (code === 'SQLITE_FULL') return new KeymeshError('UNAVAILABLE', 'The store disk is full.', opts);
  if (code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_CANTOPEN')) {
    // An I/O error during COMMIT (e.g. fsync) leaves the write's fate unknown.
    if (kind === 'write') opts.details.outcome = 'unknown';
    return new KeymeshError('UNAVAILABLE', 'The store file could not be read or written.', opts);
  }
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB')
    return new KeymeshError('INTERNAL', 'The store file is damaged or not a database.', opts);
  return new KeymeshError('INTERNAL', 'The store failed.', opts);
}
