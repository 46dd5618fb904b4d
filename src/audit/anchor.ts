// The audit log's anchor: the head of the chain (last seq and hash), kept outside the audit file
// in DIR/audit.head, moved forward as entries commit (at most a second behind, exact at stop). A hash chain shows an entry edited or taken
// from the middle, but not entries cut from its end: what is left is still a whole chain. The
// anchor is written only after the entries it names are durable, so it never runs ahead of the
// log; a log that ends before the anchor (or holds another entry there) was cut or replaced.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const ANCHOR_FILE = 'audit.head';

export interface ChainHead {
  seq: number;
  hash: string;
}

/** The anchor beside an audit file (DIR/audit.db → DIR/audit.head). */
export function anchorPathFor(auditPath: string): string {
  return join(dirname(auditPath), ANCHOR_FILE);
}

export class AnchorError extends Error {
  override readonly name = 'AnchorError';
}

/** The recorded head, or undefined when there is no anchor (a new log, or one from before it). */
export function readAnchor(path: string): ChainHead | undefined {
  if (!existsSync(path)) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new AnchorError(`${path} cannot be read: ${(e as Error).message}`);
  }
  const o = v as Partial<ChainHead> | null;
  if (
    typeof o !== 'object' ||
    o === null ||
    !Number.isSafeInteger(o.seq) ||
    (o.seq as number) < 0 ||
    typeof o.hash !== 'string' ||
    !/^[0-9a-f]{64}$/.test(o.hash)
  )
    throw new AnchorError(`${path} is not an audit anchor`);
  return { seq: o.seq as number, hash: o.hash };
}

/**
 * Replace the anchor atomically (write, fsync, rename): a crash leaves the old head or the new
 * one, both at or behind the durable log.
 */
export function writeAnchor(path: string, head: ChainHead): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify({ seq: head.seq, hash: head.hash }) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/**
 * Why the log does not reach its anchor, or undefined when it does. `hashAt(seq)` gives the
 * stored hash of entry `seq`, or undefined when there is none.
 */
export function anchorProblem(
  anchor: ChainHead,
  lastSeq: number,
  hashAt: (seq: number) => string | undefined,
  anchorPath: string,
): string | undefined {
  if (anchor.seq === 0) return undefined;
  if (lastSeq < anchor.seq)
    return `the audit log ends at entry ${lastSeq} but ${anchorPath} records entry ${anchor.seq}: entries were removed from its end`;
  if (hashAt(anchor.seq) !== anchor.hash)
    return `audit entry ${anchor.seq} is not the one ${anchorPath} records: the log was replaced`;
  return undefined;
}
