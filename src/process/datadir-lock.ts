// One node per data dir. Two nodes on the same dir would both print ready while only one can
// write the store and audit log. The lock is SQLite's own file lock on DIR/node.lock, taken
// exclusively and held for the life of the process (locking_mode EXCLUSIVE): the operating
// system releases it when the process ends in any way, kill -9 included, so a stale lock cannot
// outlive its holder, and no pid file has to be trusted.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { KeymeshError } from '../errors.js';

export const LOCK_FILE = 'node.lock';

export interface DataDirLock {
  release(): void;
}

export function lockDataDir(dataDir: string): DataDirLock {
  const path = join(dataDir, LOCK_FILE);
  let db: Database.Database;
  try {
    db = new Database(path, { timeout: 0 });
  } catch (e) {
    throw new KeymeshError('UNAVAILABLE', `cannot open ${path}: ${(e as Error).message}`);
  }
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock; in this locking mode it is never given back.
    db.exec('BEGIN EXCLUSIVE');
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, since TEXT NOT NULL)');
    db.prepare('DELETE FROM holder').run();
    db.prepare('INSERT INTO holder (pid, since) VALUES (?, ?)').run(process.pid, new Date().toISOString());
    db.exec('COMMIT');
  } catch (e) {
    db.close();
    const code = (e as { code?: unknown }).code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED')
      throw new KeymeshError('CONFLICT', `in use by another keymesh node (${path} is locked)`);
    throw new KeymeshError('UNAVAILABLE', `cannot be locked: ${(e as Error).message}`);
  }
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      db.close();
    },
  };
}
