// A clone of the repository must build and pass with nothing beside it: no test, source, script
// or README line may reach outside the repository (the vectors once lived in a sibling folder,
// and `npm test` failed in a fresh clone).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../enclave/_support.js';

const ROOT = repoRoot();
const SCANNED = ['src', 'test', 'bench', 'scripts', '.ci', 'README.md', 'package.json'];
// Built from parts so that this file does not match itself.
const OUTSIDE = new RegExp(['\\.\\./', 'shared', '|', '/work', '/'].join(''));

function files(p: string): string[] {
  const st = statSync(p, { throwIfNoEntry: false });
  if (!st) return [];
  if (st.isFile()) return [p];
  return readdirSync(p).flatMap((n) => (n === 'vectors' ? [] : files(join(p, n))));
}

test('no file of the project refers to a path outside the repository', () => {
  const hits: string[] = [];
  for (const f of SCANNED.flatMap((s) => files(join(ROOT, s)))) {
    readFileSync(f, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (OUTSIDE.test(line)) hits.push(`${relative(ROOT, f)}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.deepEqual(hits, []);
});
