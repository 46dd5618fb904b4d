// The certificate module (src/tls/certs.ts), judged by node:crypto's own X.509 parser (OpenSSL):
// the CA profile (self-signed, cA, keyCertSign + cRLSign, 10 years, P-256), server and client
// profiles (signed by the CA, EKU, SANs, key usage, 1 year, never past the CA), names that cannot
// be smuggled through a CN, input checks with typed errors, loadCa's refusals, and leafProblem.
import 'reflect-metadata';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BasicConstraintsExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectAlternativeNameExtension,
  X509Certificate as PeculiarCertificate,
} from '@peculiar/x509';
import { KeymeshError } from '../../src/errors.js';
import {
  CA_FILE,
  CA_KEY_FILE,
  createCa,
  issueClientCert,
  issueServerCert,
  leafProblem,
  loadCa,
  OID_CLIENT_AUTH,
  OID_SERVER_AUTH,
  type CertificateAuthority,
} from '../../src/tls/certs.js';
import { withTempDir } from '../helpers/tmp.js';

const DAY = 86_400_000;
const days = (c: X509Certificate) => (Date.parse(c.validTo) - Date.parse(c.validFrom)) / DAY;

function expectInvalid(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof KeymeshError, String(e));
    assert.equal(e.code, 'INVALID_REQUEST');
    assert.match(e.message, pattern);
    return true;
  });
}

async function expectInvalidAsync(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof KeymeshError, String(e));
    assert.equal(e.code, 'INVALID_REQUEST');
    assert.match(e.message, pattern);
    return true;
  });
}

let shared: CertificateAuthority | undefined;
const testCa = async () => (shared ??= await createCa({ commonName: 'Test CA', organization: 'Keymesh' }));

test('createCa: a self-signed P-256 CA, cA + keyCertSign/cRLSign (critical), ~10 years', async () => {
  const before = Date.now();
  const ca = await testCa();
  const cert = new X509Certificate(ca.certPem);
  const key = createPrivateKey(ca.keyPem);

  assert.match(ca.certPem, /^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/);
  assert.match(ca.keyPem, /^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);
  assert.equal(cert.ca, true);
  assert.equal(cert.subject, cert.issuer, 'self-issued');
  assert.ok(cert.checkIssued(cert) && cert.verify(cert.publicKey), 'self-signed, and the signature holds');
  assert.ok(cert.checkPrivateKey(key), 'the key is the certificate’s');
  assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.match(cert.subject, /^O=Keymesh\nCN=Test CA$/);

  assert.ok(Date.parse(cert.validFrom) <= before, 'valid already');
  assert.ok(before - Date.parse(cert.validFrom) <= 10 * 60_000, 'backdated by minutes, not more');
  assert.ok(Math.abs(days(cert) - 3650) < 1, `10 years, got ${days(cert)} days`);

  const p = new PeculiarCertificate(ca.certPem);
  const bc = p.getExtension(BasicConstraintsExtension);
  assert.ok(bc && bc.ca && bc.critical, 'basicConstraints cA, critical');
  assert.equal(bc.pathLength, 0, 'it signs leaves only');
  const ku = p.getExtension(KeyUsagesExtension);
  assert.ok(ku?.critical, 'keyUsage critical');
  assert.equal(ku.usages, KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign);
  assert.equal(cert.keyUsage, undefined, 'no extended key usage on the CA');
});

test('issueServerCert: signed by the CA, serverAuth, loopback SANs plus the extra names', async () => {
  const ca = await testCa();
  const caCert = new X509Certificate(ca.certPem);
  const s = await issueServerCert(ca, {
    commonName: 'kms-1',
    dnsNames: ['KMS.example.org', 'localhost'],
    ips: ['10.0.0.7', 'fd00::1'],
  });
  const cert = new X509Certificate(s.certPem);

  assert.ok(cert.checkIssued(caCert), 'issuer name and key identifiers point at the CA');
  assert.ok(cert.verify(caCert.publicKey), 'the CA’s signature holds');
  assert.ok(!cert.verify(new X509Certificate((await createCa('Other')).certPem).publicKey));
  assert.ok(cert.checkPrivateKey(createPrivateKey(s.keyPem)));
  assert.equal(cert.ca, false);
  assert.equal(cert.issuer, caCert.subject);
  assert.equal(cert.subject, 'CN=kms-1');
  assert.deepEqual(cert.keyUsage, [OID_SERVER_AUTH]);
  assert.equal(
    cert.subjectAltName,
    'DNS:localhost, DNS:kms.example.org, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, ' +
      'IP Address:10.0.0.7, IP Address:FD00:0:0:0:0:0:0:1',
  );
  // What a TLS client checks (RFC 6125): the SAN entries, by name and by address.
  for (const host of ['localhost', 'kms.example.org']) assert.equal(cert.checkHost(host), host);
  for (const ip of ['127.0.0.1', '::1', '10.0.0.7', 'fd00::1']) assert.equal(cert.checkIP(ip), ip);
  assert.equal(cert.checkHost('evil.example'), undefined);
  assert.equal(cert.checkIP('127.0.0.2'), undefined);

  const ku = new PeculiarCertificate(s.certPem).getExtension(KeyUsagesExtension);
  assert.ok(ku?.critical);
  assert.equal(ku.usages, KeyUsageFlags.digitalSignature);
  assert.ok(Math.abs(days(cert) - 365) < 1, `1 year, got ${days(cert)} days`);
  assert.ok(Date.parse(cert.validFrom) <= Date.now() && Date.now() < Date.parse(cert.validTo));
  assert.ok(Date.parse(cert.validTo) <= Date.parse(caCert.validTo));

  const again = new X509Certificate((await issueServerCert(ca, { commonName: 'kms-1' })).certPem);
  assert.notEqual(again.serialNumber, cert.serialNumber, 'random serials');
  assert.notEqual(again.fingerprint256, cert.fingerprint256, 'a fresh key each time');
  assert.equal(again.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');

  // A peer certificate (an etcd member's): one certificate for both ends of a connection.
  const peer = await issueServerCert(ca, { commonName: 'node-1', dnsNames: ['node-1'], clientAuth: true });
  assert.deepEqual(new X509Certificate(peer.certPem).keyUsage, [OID_SERVER_AUTH, OID_CLIENT_AUTH]);
  assert.equal(leafProblem(ca, peer, 'server'), undefined);
  assert.equal(leafProblem(ca, peer, 'client'), undefined);
});

test('issueClientCert: signed by the CA, clientAuth, the identity in CN (and OU), no SAN', async () => {
  const ca = await testCa();
  const caCert = new X509Certificate(ca.certPem);
  const c = await issueClientCert(ca, { commonName: 'keymesh-admin' });
  const cert = new X509Certificate(c.certPem);
  assert.ok(cert.checkIssued(caCert) && cert.verify(caCert.publicKey));
  assert.ok(cert.checkPrivateKey(createPrivateKey(c.keyPem)));
  assert.equal(cert.ca, false);
  assert.equal(cert.subject, 'CN=keymesh-admin');
  assert.deepEqual(cert.keyUsage, [OID_CLIENT_AUTH]);
  assert.equal(cert.subjectAltName, undefined);
  assert.equal(new PeculiarCertificate(c.certPem).getExtension(SubjectAlternativeNameExtension), null);
  assert.ok(Math.abs(days(cert) - 365) < 1);

  const withOu = new X509Certificate(
    (await issueClientCert(ca, { commonName: 'node-1', organizationalUnit: 'keymesh-cluster' })).certPem,
  );
  assert.equal(withOu.subject, 'OU=keymesh-cluster\nCN=node-1');
});

test('a leaf never outlives its CA; validity is configurable', async () => {
  const shortCa = await createCa('Short CA', { validityDays: 30 });
  const caCert = new X509Certificate(shortCa.certPem);
  assert.ok(Math.abs(days(caCert) - 30) < 1);
  const leaf = new X509Certificate((await issueClientCert(shortCa, { commonName: 'x' })).certPem);
  assert.equal(leaf.validTo, caCert.validTo, 'clamped to the CA’s notAfter');
  const week = new X509Certificate(
    (await issueServerCert(await testCa(), { commonName: 'x', validityDays: 7 })).certPem,
  );
  assert.ok(Math.abs(days(week) - 7) < 1);
  await expectInvalidAsync(createCa('x', { validityDays: 0 }), /validityDays/);
  await expectInvalidAsync(issueClientCert(shortCa, { commonName: 'x', validityDays: 1.5 }), /validityDays/);
});

test('a name is data, never syntax: a "," or "=" in a CN cannot add an attribute', async () => {
  const ca = await testCa();
  const c = await issueClientCert(ca, { commonName: 'eve,CN=keymesh-admin', organizationalUnit: 'a+OU=b' });
  const p = new PeculiarCertificate(c.certPem);
  assert.deepEqual(p.subjectName.getField('CN'), ['eve,CN=keymesh-admin']);
  assert.deepEqual(p.subjectName.getField('OU'), ['a+OU=b']);
  assert.equal(new X509Certificate(c.certPem).subject.split('\n').length, 2, 'exactly two RDNs');
});

test('bad input is refused with a typed error', async () => {
  const ca = await testCa();
  await expectInvalidAsync(issueServerCert(ca, { commonName: 'x', dnsNames: ['a..b'] }), /not a DNS name/);
  await expectInvalidAsync(issueServerCert(ca, { commonName: 'x', dnsNames: ['-a.b'] }), /not a DNS name/);
  await expectInvalidAsync(issueServerCert(ca, { commonName: 'x', dnsNames: ['a b'] }), /not a DNS name/);
  await expectInvalidAsync(issueServerCert(ca, { commonName: 'x', ips: ['300.1.1.1'] }), /not an IP/);
  await expectInvalidAsync(issueServerCert(ca, { commonName: 'x', ips: ['localhost'] }), /not an IP/);
  await expectInvalidAsync(issueClientCert(ca, { commonName: '' }), /commonName/);
  await expectInvalidAsync(issueClientCert(ca, { commonName: 'x'.repeat(65) }), /commonName/);
  await expectInvalidAsync(issueClientCert(ca, { commonName: 'a\nb' }), /commonName/);
  await expectInvalidAsync(createCa({ commonName: 'ok', organization: '' }), /organization/);
  // A leaf or a mismatched key is not a CA.
  const leaf = await issueClientCert(ca, { commonName: 'x' });
  await expectInvalidAsync(issueClientCert(leaf, { commonName: 'y' }), /not a CA/);
  await expectInvalidAsync(
    issueClientCert({ certPem: ca.certPem, keyPem: leaf.keyPem }, { commonName: 'y' }),
    /does not match/,
  );
});

test('loadCa: reads ca.crt + ca.key, and refuses a missing, non-CA, mismatched or expired one', async () => {
  const ca = await testCa();
  await withTempDir('tls-loadca', async (dir) => {
    expectInvalid(() => loadCa(dir), /cannot read .*ca\.crt/);
    writeFileSync(join(dir, CA_FILE), ca.certPem);
    writeFileSync(join(dir, CA_KEY_FILE), ca.keyPem, { mode: 0o600 });
    assert.deepEqual(loadCa(dir), ca);
    // It issues: a certificate from the loaded CA verifies under the original.
    const leaf = new X509Certificate((await issueServerCert(loadCa(dir), { commonName: 'n' })).certPem);
    assert.ok(leaf.verify(new X509Certificate(ca.certPem).publicKey));

    expectInvalid(() => loadCa(dir, { now: new Date(Date.now() + 3651 * DAY) }), /expired/);

    writeFileSync(join(dir, CA_KEY_FILE), (await createCa('Other')).keyPem);
    expectInvalid(() => loadCa(dir), /does not match/);

    const leafBundle = await issueClientCert(ca, { commonName: 'n' });
    writeFileSync(join(dir, CA_FILE), leafBundle.certPem);
    writeFileSync(join(dir, CA_KEY_FILE), leafBundle.keyPem);
    expectInvalid(() => loadCa(dir), /not a CA/);

    writeFileSync(join(dir, CA_FILE), 'garbage');
    expectInvalid(() => loadCa(dir), /does not parse/);
  });
});

test('leafProblem: accepts a good leaf; names each way one can be wrong', async () => {
  const ca = await testCa();
  const other = await createCa('Other CA');
  const server = await issueServerCert(ca, { commonName: 's' });
  const client = await issueClientCert(ca, { commonName: 'c' });
  assert.equal(leafProblem(ca, server, 'server'), undefined);
  assert.equal(leafProblem(ca, client, 'client'), undefined);
  assert.match(leafProblem(ca, server, 'client') ?? '', /clientAuth/);
  assert.match(leafProblem(ca, client, 'server') ?? '', /serverAuth/);
  assert.match(leafProblem(other, server, 'server') ?? '', /not issued by this CA/);
  assert.match(leafProblem(ca, { ...server, keyPem: client.keyPem }, 'server') ?? '', /key does not match/);
  assert.match(leafProblem(ca, { ...server, certPem: 'x' }, 'server') ?? '', /does not parse/);
  assert.match(leafProblem(ca, ca, 'server') ?? '', /CA certificate/);
  assert.match(
    leafProblem(ca, server, 'server', { minRemainingMs: 366 * DAY }) ?? '',
    /expires soon/,
    'inside the renewal window',
  );
  assert.match(leafProblem(ca, server, 'server', { now: new Date(Date.now() + 366 * DAY) }) ?? '', /expired/);
  assert.match(leafProblem(ca, server, 'server', { now: new Date(Date.now() - DAY) }) ?? '', /not valid yet/);
});
