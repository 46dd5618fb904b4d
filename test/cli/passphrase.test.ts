// How `keymesh start` reads the unseal passphrase: from a file (trailing newline dropped, empty
// refused), never without a terminal, and at an interactive prompt that echoes nothing and fails
// (not exits 0) when interrupted with Ctrl-C or closed with Ctrl-D. The prompt runs on a fake
// terminal: a stream that says it is a TTY, fed keystrokes as a terminal in raw mode would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { CliError, EXIT } from '../../src/cli/client.js';
import { EXIT_INTERRUPTED, readPassphrase } from '../../src/cli/commands/start.js';
import { removeDir, tempDir } from '../helpers/node.js';

function fakeTerminal() {
  const input = Object.assign(new PassThrough(), { isTTY: true });
  const output = new PassThrough();
  let written = '';
  output.on('data', (d: Buffer) => (written += d.toString()));
  return { io: { input, output }, input, written: () => written };
}

async function rejectsWith(p: Promise<unknown>, exitCode: number, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof CliError, String(e));
    assert.equal(e.exitCode, exitCode);
    assert.match(e.message, message);
    return true;
  });
}

test('from a file: the trailing newline is not part of it; an empty file is refused', async () => {
  const dir = tempDir();
  try {
    const f = join(dir, 'p');
    writeFileSync(f, 'correct horse battery staple\r\n');
    assert.equal(Buffer.from(await readPassphrase(f)).toString(), 'correct horse battery staple');
    writeFileSync(f, ' spaces kept \n\n');
    assert.equal(Buffer.from(await readPassphrase(f)).toString(), ' spaces kept ');
    writeFileSync(f, '\n');
    await rejectsWith(readPassphrase(f), EXIT.usage, /passphrase file is empty/);
  } finally {
    removeDir(dir);
  }
});

test('no file and no terminal: refused, nothing read', async () => {
  const input = new PassThrough();
  await rejectsWith(
    readPassphrase(undefined, { input, output: new PassThrough() }),
    EXIT.usage,
    /refusing to start unsealed/,
  );
});

test('at the prompt: typed and entered, never echoed', async () => {
  const t = fakeTerminal();
  const p = readPassphrase(undefined, t.io);
  t.input.write('s3cret pass');
  t.input.write('\r');
  assert.equal(Buffer.from(await p).toString(), 's3cret pass');
  assert.match(t.written(), /^Unseal passphrase: /);
  assert.ok(!t.written().includes('s3cret'), 'the passphrase is not echoed');
});

test('Ctrl-C at the prompt fails the start (exit 130) instead of exiting 0', async () => {
  const t = fakeTerminal();
  const p = readPassphrase(undefined, t.io);
  t.input.write('half typ');
  t.input.write('\x03');
  await rejectsWith(p, EXIT_INTERRUPTED, /interrupted/);
});

test('Ctrl-D (end of input) at the prompt fails the start', async () => {
  const t = fakeTerminal();
  const p = readPassphrase(undefined, t.io);
  t.input.write('\x04');
  await rejectsWith(p, EXIT.usage, /no unseal passphrase/);
  const t2 = fakeTerminal();
  const p2 = readPassphrase(undefined, t2.io);
  t2.input.end();
  await rejectsWith(p2, EXIT.usage, /no unseal passphrase/);
});

test('an empty line is refused', async () => {
  const t = fakeTerminal();
  const p = readPassphrase(undefined, t.io);
  t.input.write('\r');
  await rejectsWith(p, EXIT.usage, /empty passphrase/);
});
