// Shared by the enclave tests: locating the repo and the published vectors from the compiled
// test's own location, hex helpers, and an assertion on KeymeshError codes.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KeymeshError, type ErrorCode } from '../../src/errors.js';

/** The directory holding package.json, found walking up from this file (dist/test/enclave/...). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** Published vectors vendored in the repository (test/vectors/README.md: sources and licences). */
export const VECTORS_DIR = resolve(repoRoot(), 'test/vectors');

export function readWycheproof<T = WycheproofFile>(name: string): T {
  return JSON.parse(readFileSync(join(VECTORS_DIR, 'wycheproof', name), 'utf8')) as T;
}

export interface WycheproofTest {
  tcId: number;
  comment: string;
  flags: string[];
  result: 'valid' | 'invalid' | 'acceptable';
  msg: string;
  sig: string;
  [k: string]: unknown;
}

export interface WycheproofGroup {
  type: string;
  tests: WycheproofTest[];
  [k: string]: unknown;
}

export interface WycheproofFile {
  algorithm: string;
  numberOfTests: number;
  testGroups: WycheproofGroup[];
}

export const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

export function expectCode(fn: () => unknown, code: ErrorCode, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof KeymeshError, `expected a KeymeshError, got ${String(e)}`);
    assert.equal(e.code, code, `code ${e.code}: ${e.message}`);
    if (message) assert.match(e.message, message);
    return true;
  });
}

export async function expectCodeAsync(p: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof KeymeshError, `expected a KeymeshError, got ${String(e)}`);
    assert.equal(e.code, code, `code ${e.code}: ${e.message}`);
    if (message) assert.match(e.message, message);
    return true;
  });
}
