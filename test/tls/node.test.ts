// End to end through the CLI: `keymesh start --dev` makes DIR/tls/ (0700, six PEM files, 0600)
// before it is ready, a restart keeps it byte for byte, and a sealed (non --dev) node makes none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeDir, startNode, tempDir } from '../helpers/node.js';

const NAMES = ['ca.crt', 'ca.key', 'client.crt', 'client.key', 'server.crt', 'server.key'];
const mode = (p: string) => statSync(p).mode & 0o777;
const snapshot = (dir: string) => NAMES.map((n) => readFileSync(join(dir, n), 'utf8'));

test('a --dev node writes DIR/tls/ before it is ready, and keeps it across a restart', async () => {
  const parent = tempDir('keymesh-tls-');
  const dataDir = join(parent, 'data');
  const node = await startNode({ dataDir });
  try {
    const dir = join(dataDir, 'tls');
    assert.equal(mode(dir), 0o700);
    assert.deepEqual(readdirSync(dir).sort(), NAMES);
    for (const n of NAMES) assert.equal(mode(join(dir, n)), 0o600, n);
    const ca = new X509Certificate(readFileSync(join(dir, 'ca.crt')));
    const server = new X509Certificate(readFileSync(join(dir, 'server.crt')));
    const client = new X509Certificate(readFileSync(join(dir, 'client.crt')));
    assert.ok(server.checkIssued(ca) && server.verify(ca.publicKey));
    assert.ok(client.checkIssued(ca) && client.verify(ca.publicKey));
    assert.equal(server.checkHost('localhost'), 'localhost');
    assert.equal(client.subject, 'CN=keymesh-admin');
    assert.match(
      node.stdout(),
      /^keymesh admin token written to \S+\nkeymesh ready \S+ \S+ \S+\n$/,
      'stdout stays the contract’s two lines: nothing about TLS',
    );

    const before = snapshot(dir);
    assert.equal(await node.stop(), 0);
    const again = await startNode({ dataDir });
    assert.deepEqual(snapshot(dir), before, 'the same CA and certificates after a restart');
    assert.equal(await again.stop(), 0);
  } finally {
    await node.kill9();
    removeDir(parent);
  }
});

test('a sealed (non --dev) node writes no dev TLS material', async () => {
  const parent = tempDir('keymesh-tls-');
  const dataDir = join(parent, 'data');
  const pass = join(parent, 'pass');
  writeFileSync(pass, 'a passphrase for the tls test\n', { mode: 0o600 });
  const node = await startNode({ dev: false, dataDir, args: ['--unseal-passphrase-file', pass] });
  try {
    assert.equal(existsSync(join(dataDir, 'tls')), false);
    assert.equal(await node.stop(), 0);
  } finally {
    await node.kill9();
    removeDir(parent);
  }
});
