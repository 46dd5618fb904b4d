// Keymesh's certificate authority: makes an ECDSA P-256 CA, and issues server and client
// certificates for mutual TLS (the KMIP listener, a --dev node's local tools, and later the
// cluster CA that issues each node's etcd peer certificate). Profiles follow RFC 5280 §4.2.1;
// ECDSA with SHA-256 per RFC 5758 §3.2. PEM in, PEM out (RFC 7468): certificates as
// "CERTIFICATE", private keys as unencrypted PKCS#8 "PRIVATE KEY" (RFC 5208), the form node:tls,
// OpenSSL and etcd all read.
//
// The X.509 encoding is @peculiar/x509's; key generation and signing are WebCrypto (node:crypto),
// and every check of what is produced or loaded is node:crypto's own (OpenSSL) parser, so a
// certificate this module accepts is one node:tls accepts too.
//
// @peculiar/x509 resolves its internals through tsyringe, which needs the Reflect metadata API;
// the polyfill must be evaluated before the library, hence this import first.
import 'reflect-metadata';
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509Certificate as PeculiarCertificate,
  X509CertificateGenerator,
  type Extension,
  type JsonGeneralNames,
} from '@peculiar/x509';
import { createPrivateKey, webcrypto, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { invalid, KeymeshError } from '../errors.js';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** A certificate and its private key, both PEM. A CA is one of these too. */
export interface CertBundle {
  certPem: string;
  keyPem: string;
}
export type CertificateAuthority = CertBundle;

export interface DistinguishedName {
  commonName: string;
  organization?: string;
  organizationalUnit?: string;
}

export interface ValidityOptions {
  /** Lifetime from now; defaults: CA 10 years, leaf 1 year. */
  validityDays?: number;
  /** The clock, for tests of renewal and expiry. */
  now?: Date;
}

export interface ServerCertRequest extends ValidityOptions {
  commonName: string;
  /** Extra DNS names; `localhost` is always included. */
  dnsNames?: readonly string[];
  /** Extra IP addresses; 127.0.0.1 and ::1 are always included. */
  ips?: readonly string[];
  /** Also clientAuth: one certificate for a peer that both serves and connects, as an etcd
   * member's peer certificate must. */
  clientAuth?: boolean;
  /** URIs for the subjectAltName (a cluster node's grant: urn:keymesh:region:R, …:level:N). */
  uris?: readonly string[];
}

export interface ClientCertRequest extends ValidityOptions {
  /** The identity the peer sees (etcd, for one, maps the client certificate's CN to a user). */
  commonName: string;
  organizationalUnit?: string;
}

export const CA_FILE = 'ca.crt';
export const CA_KEY_FILE = 'ca.key';

export const CA_VALIDITY_DAYS = 3650;
export const LEAF_VALIDITY_DAYS = 365;
/** RFC 5280 §4.1.2.5 puts no floor on notBefore; backdating a little lets peers whose clocks run
 * slightly behind ours accept a certificate issued a moment ago (cluster nodes, a laptop's VM). */
export const BACKDATE_MS = 5 * 60_000;
const DAY_MS = 86_400_000;

export const OID_SERVER_AUTH: string = ExtendedKeyUsage.serverAuth;
export const OID_CLIENT_AUTH: string = ExtendedKeyUsage.clientAuth;

const LOOPBACK_DNS = ['localhost'];
const LOOPBACK_IPS = ['127.0.0.1', '::1'];

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** A self-signed CA: basicConstraints cA (critical, pathLen 0: it signs leaves only), keyUsage
 * keyCertSign + cRLSign (critical), a subject key identifier (RFC 5280 §4.2.1.2: MUST for a CA). */
export async function createCa(
  subject: string | DistinguishedName,
  opts: ValidityOptions = {},
): Promise<CertificateAuthority> {
  const dn = checkName(typeof subject === 'string' ? { commonName: subject } : subject);
  const keys = (await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
  const { notBefore, notAfter } = validity(opts, CA_VALIDITY_DAYS);
  const cert = await X509CertificateGenerator.createSelfSigned(
    {
      name: nameJson(dn),
      keys,
      notBefore,
      notAfter,
      signingAlgorithm: ECDSA_SHA256,
      extensions: [
        new BasicConstraintsExtension(true, 0, true),
        new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
        await SubjectKeyIdentifierExtension.create(keys.publicKey, false, webcrypto),
      ],
    },
    webcrypto,
  );
  return { certPem: cert.toString('pem') + '\n', keyPem: await exportKeyPem(keys.privateKey) };
}

/** A TLS server certificate: serverAuth, subjectAltName with the loopback names plus `dnsNames`
 * and `ips` (RFC 6125: clients match the SAN, not the CN). */
export async function issueServerCert(ca: CertificateAuthority, req: ServerCertRequest): Promise<CertBundle> {
  const dnsNames = unique([...LOOPBACK_DNS, ...(req.dnsNames ?? []).map(checkDnsName)]);
  const ips = unique([...LOOPBACK_IPS, ...(req.ips ?? []).map(checkIp)]);
  const san: JsonGeneralNames = [
    ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...ips.map((value) => ({ type: 'ip' as const, value })),
    ...unique((req.uris ?? []).map(checkUri)).map((value) => ({ type: 'url' as const, value })),
  ];
  const eku = req.clientAuth ? [OID_SERVER_AUTH, OID_CLIENT_AUTH] : [OID_SERVER_AUTH];
  return issueLeaf(ca, { commonName: req.commonName }, req, eku, [
    new SubjectAlternativeNameExtension(san, false),
  ]);
}

/** A TLS client certificate: clientAuth, the identity in the subject (CN, optionally OU). */
export async function issueClientCert(ca: CertificateAuthority, req: ClientCertRequest): Promise<CertBundle> {
  const dn: DistinguishedName = { commonName: req.commonName };
  if (req.organizationalUnit !== undefined) dn.organizationalUnit = req.organizationalUnit;
  return issueLeaf(ca, dn, req, [OID_CLIENT_AUTH], []);
}

async function issueLeaf(
  ca: CertificateAuthority,
  subject: DistinguishedName,
  opts: ValidityOptions,
  eku: string[],
  extra: Extension[],
): Promise<CertBundle> {
  const dn = checkName(subject);
  const caCert = checkCa(ca, 'the CA', opts.now);
  const caKey = await importSigningKey(ca.keyPem);
  const issuer = new PeculiarCertificate(ca.certPem);
  const keys = (await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
  const { notBefore, notAfter } = validity(opts, LEAF_VALIDITY_DAYS);
  // A leaf outliving its CA would be rejected by every verifier after the CA expires anyway;
  // clamping says so in the certificate instead of leaving a date that cannot be honoured.
  const caNotAfter = new Date(caCert.validTo);
  const leafNotAfter = notAfter > caNotAfter ? caNotAfter : notAfter;
  // The AKI must match the CA's SKI (RFC 5280 §4.2.1.1) so verifiers pick the right issuer key.
  const caSki = issuer.getExtension(SubjectKeyIdentifierExtension);
  const aki = caSki
    ? new AuthorityKeyIdentifierExtension(caSki.keyId, false)
    : await AuthorityKeyIdentifierExtension.create(issuer.publicKey, false, webcrypto);
  const cert = await X509CertificateGenerator.create(
    {
      subject: nameJson(dn),
      // The CA's own encoded subject, byte for byte: path building compares names (RFC 5280 §7.1).
      issuer: issuer.subjectName,
      publicKey: keys.publicKey,
      signingKey: caKey,
      notBefore,
      notAfter: leafNotAfter,
      signingAlgorithm: ECDSA_SHA256,
      extensions: [
        new BasicConstraintsExtension(false, undefined, true),
        // ECDSA keys sign the handshake (digitalSignature); ECDHE needs no keyAgreement bit.
        new KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
        new ExtendedKeyUsageExtension(eku, false),
        ...extra,
        await SubjectKeyIdentifierExtension.create(keys.publicKey, false, webcrypto),
        aki,
      ],
    },
    webcrypto,
  );
  return { certPem: cert.toString('pem') + '\n', keyPem: await exportKeyPem(keys.privateKey) };
}

/** Read `ca.crt` and `ca.key` from `dir` and check they are a usable CA. */
export function loadCa(dir: string, opts: { now?: Date } = {}): CertificateAuthority {
  const ca = {
    certPem: readPem(join(dir, CA_FILE)),
    keyPem: readPem(join(dir, CA_KEY_FILE)),
  };
  checkCa(ca, join(dir, CA_FILE), opts.now);
  return ca;
}

/**
 * Why `bundle` is not a good `purpose` certificate from `ca` at `now`, or undefined if it is:
 * parses, is signed by the CA, carries its EKU, its key matches, and it is inside its validity
 * window with at least `minRemainingMs` to go (so a caller can renew before expiry, not after).
 */
export function leafProblem(
  ca: CertificateAuthority,
  bundle: CertBundle,
  purpose: 'server' | 'client',
  opts: { now?: Date; minRemainingMs?: number } = {},
): string | undefined {
  let cert: X509Certificate;
  let caCert: X509Certificate;
  let key: KeyObject;
  try {
    caCert = new X509Certificate(ca.certPem);
    cert = new X509Certificate(bundle.certPem);
    key = createPrivateKey(bundle.keyPem);
  } catch {
    return 'the certificate or key does not parse';
  }
  if (!cert.checkIssued(caCert) || !cert.verify(caCert.publicKey)) return 'it was not issued by this CA';
  if (cert.ca) return 'it is a CA certificate';
  const eku = purpose === 'server' ? OID_SERVER_AUTH : OID_CLIENT_AUTH;
  if (!(cert.keyUsage ?? []).includes(eku)) return `it lacks the ${purpose}Auth extended key usage`;
  if (!cert.checkPrivateKey(key)) return 'the key does not match the certificate';
  const now = (opts.now ?? new Date()).getTime();
  if (new Date(cert.validFrom).getTime() > now) return 'it is not valid yet';
  if (new Date(cert.validTo).getTime() - (opts.minRemainingMs ?? 0) <= now)
    return 'it has expired or expires soon';
  return undefined;
}

/** The CA parses, is a CA, is self-consistent (key matches), signed itself, and has not expired. */
function checkCa(ca: CertificateAuthority, where: string, now = new Date()): X509Certificate {
  let cert: X509Certificate;
  let key: KeyObject;
  try {
    cert = new X509Certificate(ca.certPem);
    key = createPrivateKey(ca.keyPem);
  } catch (cause) {
    throw new KeymeshError('INVALID_REQUEST', `${where}: the CA certificate or key does not parse`, {
      cause,
    });
  }
  if (!cert.ca) throw invalid(`${where}: not a CA certificate (basicConstraints cA is not set)`);
  if (!cert.checkPrivateKey(key)) throw invalid(`${where}: the CA key does not match the CA certificate`);
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw invalid(`${where}: the CA key is not an ECDSA P-256 key`);
  if (new Date(cert.validTo).getTime() <= now.getTime())
    throw invalid(`${where}: the CA certificate has expired`);
  return cert;
}

function readPem(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new KeymeshError('INVALID_REQUEST', `cannot read ${path}`, { cause });
  }
}

async function importSigningKey(pem: string): Promise<CryptoKey> {
  const der = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
  // Not extractable: past this point the CA key only signs.
  return await webcrypto.subtle.importKey('pkcs8', der, EC_P256, false, ['sign']);
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
      .export({ type: 'pkcs8', format: 'pem' })
      .toString();
  } finally {
    der.fill(0);
  }
}

function validity(opts: ValidityOptions, defaultDays: number): { notBefore: Date; notAfter: Date } {
  const days = opts.validityDays ?? defaultDays;
  if (!Number.isInteger(days) || days < 1 || days > 36_500)
    throw invalid('validityDays must be a whole number of days from 1 to 36500');
  const now = (opts.now ?? new Date()).getTime();
  // X.509 times have one-second resolution; whole seconds keep the dates we return exact.
  const start = Math.floor((now - BACKDATE_MS) / 1000) * 1000;
  return { notBefore: new Date(start), notAfter: new Date(start + BACKDATE_MS + days * DAY_MS) };
}

/** RFC 5280 Appendix A upper bounds: 64 characters for CN, O and OU. */
function checkName(dn: DistinguishedName): DistinguishedName {
  const check = (what: string, v: string | undefined) => {
    if (v === undefined) return;
    // eslint-disable-next-line no-control-regex
    if (v.length < 1 || v.length > 64 || /[\u0000-\u001f\u007f]/.test(v))
      throw invalid(`${what} must be 1 to 64 printable characters`);
  };
  check('commonName', dn.commonName);
  check('organization', dn.organization);
  check('organizationalUnit', dn.organizationalUnit);
  return dn;
}

/** As structured JSON, never an RFC 4514 string, so a `,` or `=` in a value cannot add an RDN. */
function nameJson(dn: DistinguishedName): Record<string, string[]>[] {
  const rdns: Record<string, string[]>[] = [];
  if (dn.organization !== undefined) rdns.push({ O: [dn.organization] });
  if (dn.organizationalUnit !== undefined) rdns.push({ OU: [dn.organizationalUnit] });
  rdns.push({ CN: [dn.commonName] });
  return rdns;
}

/** A preferred-syntax host name (RFC 1034 §3.5, RFC 1123 §2.1), stored lowercase. */
function checkDnsName(name: string): string {
  const label = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
  const lower = name.toLowerCase();
  if (lower.length > 253 || !lower.split('.').every((l) => label.test(l)))
    throw invalid(`${JSON.stringify(name)} is not a DNS name`);
  return lower;
}

function checkUri(uri: string): string {
  if (!/^urn:[a-z0-9-]{1,32}(:[A-Za-z0-9._-]{1,63}){1,4}$/.test(uri))
    throw invalid(`${JSON.stringify(uri)} is not a URN this CA issues`);
  return uri;
}

function checkIp(ip: string): string {
  if (isIP(ip) === 0) throw invalid(`${JSON.stringify(ip)} is not an IP address`);
  return ip;
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}
