// The test helper kills the nodes a file started when the file's tests are over (helpers/node.ts),
// so a `before` that fails half-way ends its file with a failure instead of a run that never ends:
// the started node's pipes would otherwise keep the test process alive (seen once, for 19 minutes,
// in a cluster test). Runs the fixture under the real test runner and waits for it to end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { REPO_ROOT } from './node.js';

test('a file whose before failed after starting a node still ends, as a failure', async () => {
  const fixture = join(REPO_ROOT, 'dist/test/helpers/fixtures/half-started.js');
  // A runner of its own (this process's runner context would make it report to ours instead).
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, ['--test', '--test-reporter=tap', fixture], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  // Not a timing assertion: a bound so that the failure this test exists for is a failure, not a hang.
  const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  clearTimeout(guard);
  assert.equal(signal, null, `the file never ended (killed after 120 s)\n${out}`);
  assert.notEqual(code, 0, 'the failed before is reported as a failure');
  assert.match(out, /a second node never became ready/);
});
