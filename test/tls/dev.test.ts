// ensureDevTls (src/tls/dev.ts): a fresh DIR/tls/ with the six PEM files, owner-only; what node's
// X509Certificate makes of each; kept byte for byte on later calls; leaves renewed (same CA)
// before they expire or when damaged; a broken CA or loose key permissions refused, untouched;
// and a staging directory left by a crash cleared.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { KeymeshError } from '../../src/errors.js';
import { OID_CLIENT_AUTH, OID_SERVER_AUTH } from '../../src/tls/certs.js';
import { DEV_CLIENT_CN, DEV_TLS_FILES, ensureDevTls, RENEW_BEFORE_MS } from '../../src/tls/dev.js';
import { withTempDir } from '../helpers/tmp.js';

const DAY = 86_400_000;
const NAMES = ['ca.crt', 'ca.key', 'client.crt', 'client.key', 'server.crt', 'server.key'];
const mode = (p: string) => statSync(p).mode & 0o777;
const snapshot = (dir: string) =>
  Object.fromEntries(readdirSync(dir).map((n) => [n, readFileSync(join(dir, n), 'utf8')]));

async function expectRefusal(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof KeymeshError, String(e));
    assert.equal(e.code, 'INVALID_REQUEST');
    assert.match(e.message, pattern);
    return true;
  });
}

test('a fresh DIR/tls/: the six PEM files, 0700 directory, 0600 files, a consistent CA and leaves', async () => {
  await withTempDir('tls-dev', async (dataDir) => {
    const r = await ensureDevTls(dataDir);
    const dir = join(dataDir, 'tls');
    assert.equal(r.dir, dir);
    assert.equal(r.created, true);
    assert.deepEqual(r.reissued, []);
    assert.deepEqual(Object.values(DEV_TLS_FILES).sort(), NAMES);
    assert.deepEqual(readdirSync(dir).sort(), NAMES, 'exactly these files');
    assert.deepEqual(
      readdirSync(dataDir).filter((n) => n !== 'tls'),
      [],
      'no staging directory left behind',
    );
    assert.equal(mode(dir), 0o700);
    for (const n of NAMES)
      assert.equal(mode(join(dir, n)), 0o600, `${n} is ${mode(join(dir, n)).toString(8)}`);

    const pem = (n: string) => readFileSync(join(dir, n), 'utf8');
    for (const n of NAMES)
      assert.match(
        pem(n),
        n.endsWith('.key') ? /^-----BEGIN PRIVATE KEY-----\n/ : /^-----BEGIN CERTIFICATE-----\n/,
      );
    assert.equal(r.caCertPath, join(dir, 'ca.crt'));
    assert.equal(r.serverKeyPath, join(dir, 'server.key'));
    assert.equal(r.clientCertPath, join(dir, 'client.crt'));

    const ca = new X509Certificate(pem('ca.crt'));
    const server = new X509Certificate(pem('server.crt'));
    const client = new X509Certificate(pem('client.crt'));
    assert.equal(ca.ca, true);
    assert.ok(ca.checkPrivateKey(createPrivateKey(pem('ca.key'))));
    assert.match(ca.subject, /^O=Keymesh\nCN=Keymesh dev CA [0-9a-f]{8}$/);
    for (const [leaf, key] of [
      [server, 'server.key'],
      [client, 'client.key'],
    ] as const) {
      assert.ok(leaf.checkIssued(ca), 'issued by the dev CA');
      assert.ok(leaf.verify(ca.publicKey), 'and the CA signature holds');
      assert.ok(leaf.checkPrivateKey(createPrivateKey(pem(key))));
      assert.equal(leaf.ca, false);
      const now = Date.now();
      assert.ok(Date.parse(leaf.validFrom) <= now && now + 364 * DAY < Date.parse(leaf.validTo));
      assert.ok(Date.parse(leaf.validTo) <= Date.parse(ca.validTo));
    }
    assert.ok(Date.now() + 3649 * DAY < Date.parse(ca.validTo), 'the CA lasts ~10 years');
    assert.deepEqual(server.keyUsage, [OID_SERVER_AUTH]);
    assert.equal(server.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    assert.deepEqual(client.keyUsage, [OID_CLIENT_AUTH]);
    assert.equal(client.subject, `CN=${DEV_CLIENT_CN}`);
  });
});

test('kept across calls: the same bytes, nothing regenerated', async () => {
  await withTempDir('tls-dev', async (dataDir) => {
    await ensureDevTls(dataDir);
    const dir = join(dataDir, 'tls');
    const before = snapshot(dir);
    const mtimes = NAMES.map((n) => statSync(join(dir, n)).mtimeMs);
    const again = await ensureDevTls(dataDir);
    assert.equal(again.created, false);
    assert.deepEqual(again.reissued, []);
    assert.deepEqual(snapshot(dir), before);
    assert.deepEqual(
      NAMES.map((n) => statSync(join(dir, n)).mtimeMs),
      mtimes,
    );
  });
});

test('leaves are renewed from the same CA before they expire, and when missing or damaged', async () => {
  await withTempDir('tls-dev', async (dataDir) => {
    await ensureDevTls(dataDir);
    const dir = join(dataDir, 'tls');
    const first = snapshot(dir);
    const ca = new X509Certificate(first['ca.crt']!);

    // Just outside the renewal window: kept. Just inside: both leaves issued again.
    const outside = new Date(Date.now() + 365 * DAY - RENEW_BEFORE_MS - DAY);
    assert.deepEqual((await ensureDevTls(dataDir, { now: outside })).reissued, []);
    const inside = new Date(Date.now() + 365 * DAY - RENEW_BEFORE_MS + DAY);
    const renewed = await ensureDevTls(dataDir, { now: inside });
    assert.deepEqual(renewed.reissued, ['server', 'client']);
    const second = snapshot(dir);
    assert.equal(second['ca.crt'], first['ca.crt'], 'the CA is kept: whatever trusts it still does');
    assert.equal(second['ca.key'], first['ca.key']);
    for (const n of ['server.crt', 'server.key', 'client.crt', 'client.key'])
      assert.notEqual(second[n], first[n]);
    for (const n of ['server.crt', 'client.crt']) {
      const leaf = new X509Certificate(second[n]!);
      assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey));
      assert.ok(Date.parse(leaf.validTo) > inside.getTime() + 364 * DAY, 'a full year from the renewal');
      assert.equal(mode(join(dir, n)), 0o600);
    }

    // A missing key, or a certificate from elsewhere, is issued again; the other leaf is untouched.
    rmSync(join(dir, 'client.key'));
    const r1 = await ensureDevTls(dataDir, { now: inside });
    assert.deepEqual(r1.reissued, ['client']);
    assert.equal(mode(join(dir, 'client.key')), 0o600);
    const third = snapshot(dir);
    assert.equal(third['server.crt'], second['server.crt']);
    writeFileSync(join(dir, 'server.crt'), third['client.crt']!); // wrong purpose and wrong key
    assert.deepEqual((await ensureDevTls(dataDir, { now: inside })).reissued, ['server']);
    const fourth = snapshot(dir);
    assert.deepEqual(new X509Certificate(fourth['server.crt']!).keyUsage, [OID_SERVER_AUTH]);
    assert.equal(fourth['ca.crt'], first['ca.crt']);
  });
});

test('a missing or broken CA is refused, not replaced, and nothing is written', async () => {
  await withTempDir('tls-dev', async (dataDir) => {
    await ensureDevTls(dataDir);
    const dir = join(dataDir, 'tls');
    const keep = snapshot(dir);

    writeFileSync(join(dir, 'ca.key'), 'not a key\n', { mode: 0o600 });
    await expectRefusal(ensureDevTls(dataDir), /CA certificate or key does not parse; remove .*tls/);
    rmSync(join(dir, 'ca.crt'));
    await expectRefusal(ensureDevTls(dataDir), /cannot read .*ca\.crt/);
    writeFileSync(join(dir, 'ca.crt'), keep['ca.crt']!);
    writeFileSync(join(dir, 'ca.key'), keep['server.key']!, { mode: 0o600 });
    await expectRefusal(ensureDevTls(dataDir), /does not match/);
    writeFileSync(join(dir, 'ca.key'), keep['ca.key']!, { mode: 0o600 });
    await expectRefusal(ensureDevTls(dataDir, { now: new Date(Date.now() + 3651 * DAY) }), /expired/);
    assert.deepEqual(snapshot(dir), keep, 'every refusal left the files as they were');
    await ensureDevTls(dataDir); // and once repaired, it starts again
  });
});

test('key files or a directory others can read are refused', async () => {
  await withTempDir('tls-dev', async (dataDir) => {
    await ensureDevTls(dataDir);
    const dir = join(dataDir, 'tls');
    chmodSync(join(dir, 'server.key'), 0o644);
    await expectRefusal(ensureDevTls(dataDir), /server\.key is readable by other users/);
    chmodSync(join(dir, 'server.key'), 0o600);
    chmodSync(dir, 0o755);
    await expectRefusal(ensureDevTls(dataDir), /accessible to other users/);
    chmodSync(dir, 0o700);
    rmSync(dir, { recursive: true });
    writeFileSync(dir, 'a file where the directory should be');
    await expectRefusal(ensureDevTls(dataDir), /not a directory/);
  });
});

test('a staging directory left by a crash is cleared; the data dir is made if needed', async () => {
  await withTempDir('tls-dev', async (parent) => {
    const dataDir = join(parent, 'data');
    mkdirSync(dataDir, { mode: 0o700 });
    const stale = join(dataDir, '.tls.tmp-999999');
    mkdirSync(stale);
    writeFileSync(join(stale, 'ca.key'), 'half a set');
    const r = await ensureDevTls(dataDir);
    assert.equal(r.created, true);
    assert.equal(existsSync(stale), false);
    assert.deepEqual(readdirSync(dataDir), ['tls']);

    const fresh = join(parent, 'new', 'data');
    assert.equal((await ensureDevTls(fresh)).created, true);
    assert.equal(mode(fresh), 0o700);
    assert.deepEqual(readdirSync(join(fresh, 'tls')).sort(), NAMES);
  });
});
