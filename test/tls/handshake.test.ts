// Real mutual-TLS handshakes on loopback with node:tls, using the files ensureDevTls writes: the
// server presents server.crt and requires a client certificate that verifies against ca.crt.
// The dev client certificate is accepted (TLS 1.2 and 1.3, by name and by 127.0.0.1 / ::1); no
// certificate, one from another CA, or the server's own certificate offered as a client one
// (serverAuth only) is refused by the server; and the client refuses a server it cannot verify.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, createServer, type ConnectionOptions, type SecureVersion, type TLSSocket } from 'node:tls';
import { createCa, issueClientCert, issueServerCert } from '../../src/tls/certs.js';
import { DEV_CLIENT_CN, ensureDevTls } from '../../src/tls/dev.js';
import { makeTempDir } from '../helpers/tmp.js';

const tmp = makeTempDir('tls-handshake');
const files = await ensureDevTls(tmp.dir);
const read = (p: string) => readFileSync(p, 'utf8');
const dev = {
  ca: read(files.caCertPath),
  serverCert: read(files.serverCertPath),
  serverKey: read(files.serverKeyPath),
  clientCert: read(files.clientCertPath),
  clientKey: read(files.clientKeyPath),
};
const otherCa = await createCa('Some other CA');
const otherClient = await issueClientCert(otherCa, { commonName: DEV_CLIENT_CN });
const otherServer = await issueServerCert(otherCa, { commonName: 'localhost' });

interface Outcome {
  /** CNs of client certificates the server accepted; with `lenient`, also `!REASON` for the
   * connections it would have refused (node:tls reports no reason when it hangs up). */
  accepted: string[];
  /** Handshakes the server refused. */
  refused: Error[];
  /** What the client read (the server echoes the peer's CN), and its error if any. */
  clientData: string;
  clientError: Error | undefined;
  clientAuthorized: boolean;
}

/** One connection to a fresh mutual-TLS server presenting `server` and trusting only the dev CA. */
async function handshake(
  client: ConnectionOptions,
  opts: { server?: { cert: string; key: string }; version?: SecureVersion; lenient?: boolean } = {},
): Promise<Outcome> {
  const { server = { cert: dev.serverCert, key: dev.serverKey }, version, lenient = false } = opts;
  const accepted: string[] = [];
  const refused: Error[] = [];
  let serverSettled!: () => void;
  const serverDone = new Promise<void>((r) => (serverSettled = r));
  const srv = createServer(
    {
      ...server,
      ca: dev.ca,
      requestCert: true,
      rejectUnauthorized: !lenient,
      ...(version ? { minVersion: version, maxVersion: version } : {}),
    },
    (sock: TLSSocket) => {
      const cn = sock.authorized
        ? String(sock.getPeerCertificate().subject?.CN ?? '')
        : `!${String(sock.authorizationError)}`;
      accepted.push(cn);
      sock.end(cn);
      serverSettled();
    },
  );
  srv.on('tlsClientError', (e) => {
    refused.push(e);
    serverSettled();
  });
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, (client.host as string | undefined) ?? '127.0.0.1', resolve);
  });
  const port = (srv.address() as { port: number }).port;
  try {
    const result = await new Promise<Omit<Outcome, 'accepted' | 'refused'>>((resolve) => {
      let data = '';
      let error: Error | undefined;
      let authorized = false;
      const sock = connect({ host: '127.0.0.1', port, ca: dev.ca, ...client });
      sock.on('secureConnect', () => (authorized = sock.authorized));
      sock.on('data', (d: Buffer) => (data += d.toString()));
      sock.on('error', (e) => (error = e));
      sock.on('close', () => resolve({ clientData: data, clientError: error, clientAuthorized: authorized }));
    });
    // Every connection ends in one server event, accepted or refused; bounded so a test fails, not hangs.
    await Promise.race([
      serverDone,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('no server verdict in 5 s')), 5000).unref(),
      ),
    ]);
    return { accepted, refused, ...result };
  } finally {
    await new Promise((r) => srv.close(r));
  }
}

const devClient: ConnectionOptions = { cert: dev.clientCert, key: dev.clientKey, servername: 'localhost' };

for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
  test(`${version}: the dev client certificate is accepted, both sides verified`, async () => {
    const o = await handshake(devClient, { version });
    assert.equal(o.clientError, undefined, String(o.clientError));
    assert.equal(o.clientAuthorized, true, 'the client verified server.crt against ca.crt');
    assert.deepEqual(o.accepted, [DEV_CLIENT_CN], 'the server verified client.crt against ca.crt');
    assert.equal(o.clientData, DEV_CLIENT_CN);
    assert.deepEqual(o.refused, []);
  });

  test(`${version}: a client without a certificate is refused`, async () => {
    const o = await handshake({ servername: 'localhost' }, { version });
    assert.deepEqual(o.accepted, []);
    assert.equal(o.refused.length, 1);
    assert.equal(o.clientData, '');
    assert.ok(o.clientError, 'the client sees the connection fail');
  });
}

test('by address: 127.0.0.1 and ::1 match the IP SANs (no SNI name to lean on)', async (t) => {
  const v4 = await handshake({ cert: dev.clientCert, key: dev.clientKey, host: '127.0.0.1' });
  assert.equal(v4.clientError, undefined, String(v4.clientError));
  assert.deepEqual(v4.accepted, [DEV_CLIENT_CN]);

  let v6: Outcome;
  try {
    v6 = await handshake({ cert: dev.clientCert, key: dev.clientKey, host: '::1' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL') return t.skip('no IPv6 loopback here');
    throw e;
  }
  assert.equal(v6.clientError, undefined, String(v6.clientError));
  assert.deepEqual(v6.accepted, [DEV_CLIENT_CN]);
});

test('a client certificate from another CA is refused, even with the expected CN', async () => {
  const foreign = { cert: otherClient.certPem, key: otherClient.keyPem, servername: 'localhost' };
  const o = await handshake(foreign);
  assert.deepEqual(o.accepted, []);
  assert.equal(o.refused.length, 1);
  assert.equal(o.clientData, '');
  // Why: OpenSSL finds no issuer for it among the trusted (dev CA) certificates.
  const why = await handshake(foreign, { lenient: true });
  assert.equal(why.accepted.length, 1);
  assert.match(why.accepted[0]!, /^!UNABLE_TO_(GET_ISSUER_CERT|VERIFY_LEAF_SIGNATURE)/);
});

test('the server certificate offered as a client certificate is refused (serverAuth only)', async () => {
  const asClient = { cert: dev.serverCert, key: dev.serverKey, servername: 'localhost' };
  const o = await handshake(asClient);
  assert.deepEqual(o.accepted, []);
  assert.equal(o.refused.length, 1);
  // Why: issued by the right CA, but its extended key usage is serverAuth only (RFC 5280 §4.2.1.12).
  const why = (await handshake(asClient, { lenient: true })).accepted;
  assert.equal(why.length, 1);
  assert.match(why[0]!, /^!(INVALID|UNSUPPORTED_CERTIFICATE)_PURPOSE$/, why[0]);
  assert.deepEqual((await handshake(devClient, { lenient: true })).accepted, [DEV_CLIENT_CN], 'the control');
});

test('the client refuses a server it cannot verify: another CA, or a name not in the SANs', async () => {
  const foreign = await handshake(devClient, {
    server: { cert: otherServer.certPem, key: otherServer.keyPem },
  });
  assert.ok(foreign.clientError, 'refused');
  assert.match(String((foreign.clientError as NodeJS.ErrnoException).code), /UNABLE_TO_VERIFY|SELF_SIGNED/);
  assert.deepEqual(foreign.accepted, []);

  const wrongName = await handshake({ ...devClient, servername: 'kms.example.org' });
  assert.equal(
    (wrongName.clientError as NodeJS.ErrnoException | undefined)?.code,
    'ERR_TLS_CERT_ALTNAME_INVALID',
  );

  // And a client that trusts only the other CA refuses the genuine dev server.
  const distrust = await handshake({ ...devClient, ca: otherCa.certPem });
  assert.ok(distrust.clientError);
  assert.equal(distrust.clientAuthorized, false);
});

after(() => tmp.cleanup());
