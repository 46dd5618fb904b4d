// A --dev node's TLS material (API.md, "Starting a node"): DIR/tls/ holds a private CA and the
// certificates it issued, ca.crt + ca.key, server.crt + server.key (for the KMIP listener) and
// client.crt + client.key (for local tools), all PEM (RFC 7468), made by ./certs.ts (RFC 5280).
//
// Made once and kept: local tools trust ca.crt, so a new CA on every start would break them.
// The directory appears whole or not at all (built in a staging directory, then renamed), so a
// crash mid-way never leaves a half set that a later start would have to second-guess. Every
// file is owner-only (0600) inside an owner-only directory (0700), like the rest of the data dir.
//
// On later starts the CA must be intact: if it is missing, corrupt or expired, the node refuses
// rather than replace it, because a new CA silently invalidates whatever trusts the old one. The
// server and client certificates are derived material: one that is missing, damaged, not from
// this CA, or within RENEW_BEFORE_MS of expiry is simply issued again from the same CA, which
// everything that trusts ca.crt accepts.
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, lstatSync, mkdirSync, openSync } from 'node:fs';
import { readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { invalid, isKeymeshError } from '../errors.js';
import { writeFileAtomic } from '../util/files.js';
import {
  CA_FILE,
  CA_KEY_FILE,
  createCa,
  issueClientCert,
  issueServerCert,
  leafProblem,
  loadCa,
  type CertBundle,
  type CertificateAuthority,
} from './certs.js';

export const DEV_TLS_DIR = 'tls';
export const DEV_TLS_FILES = {
  caCert: CA_FILE,
  caKey: CA_KEY_FILE,
  serverCert: 'server.crt',
  serverKey: 'server.key',
  clientCert: 'client.crt',
  clientKey: 'client.key',
} as const;
/** The subject CN of the dev client certificate: the local administrator's tools. */
export const DEV_CLIENT_CN = 'keymesh-admin';
export const DEV_SERVER_CN = 'localhost';
/** Renew a dev leaf a month before it expires, so a node restarted now and then never serves an
 * expired certificate. */
export const RENEW_BEFORE_MS = 30 * 86_400_000;

const STAGING_PREFIX = '.tls.tmp-';

export interface DevTls {
  dir: string;
  caCertPath: string;
  serverCertPath: string;
  serverKeyPath: string;
  clientCertPath: string;
  clientKeyPath: string;
  /** True when this call made the directory. */
  created: boolean;
  /** Leaves this call issued again into an existing directory. */
  reissued: ('server' | 'client')[];
}

type Leaf = 'server' | 'client';
const LEAF_FILES: Record<Leaf, { cert: string; key: string }> = {
  server: { cert: DEV_TLS_FILES.serverCert, key: DEV_TLS_FILES.serverKey },
  client: { cert: DEV_TLS_FILES.clientCert, key: DEV_TLS_FILES.clientKey },
};

/** Make DIR/tls/ if absent; otherwise check it, renewing leaves as needed. See the header. */
export async function ensureDevTls(dataDir: string, opts: { now?: Date } = {}): Promise<DevTls> {
  const dir = join(dataDir, DEV_TLS_DIR);
  const result = (created: boolean, reissued: Leaf[]): DevTls => ({
    dir,
    caCertPath: join(dir, DEV_TLS_FILES.caCert),
    serverCertPath: join(dir, DEV_TLS_FILES.serverCert),
    serverKeyPath: join(dir, DEV_TLS_FILES.serverKey),
    clientCertPath: join(dir, DEV_TLS_FILES.clientCert),
    clientKeyPath: join(dir, DEV_TLS_FILES.clientKey),
    created,
    reissued,
  });

  if (!existsSync(dir)) {
    await createDevTls(dataDir, dir, opts.now);
    return result(true, []);
  }

  assertOwnerOnly(dir);
  let ca: CertificateAuthority;
  try {
    ca = loadCa(dir, opts.now ? { now: opts.now } : {});
  } catch (e) {
    const why = isKeymeshError(e) ? e.shortMessage : String(e);
    throw invalid(`${why}; remove ${dir} to have a new dev CA made (clients must then trust the new ca.crt)`);
  }
  const reissued: Leaf[] = [];
  for (const leaf of ['server', 'client'] as const) {
    const files = LEAF_FILES[leaf];
    const current = readBundle(join(dir, files.cert), join(dir, files.key));
    const problem =
      current &&
      leafProblem(ca, current, leaf, {
        ...(opts.now ? { now: opts.now } : {}),
        minRemainingMs: RENEW_BEFORE_MS,
      });
    if (current && problem === undefined) continue;
    const fresh = await issueDevLeaf(ca, leaf, opts.now);
    // Key first, then certificate: a crash between the two leaves a pair that does not match,
    // which the next start sees as a problem and reissues.
    writeFileAtomic(join(dir, files.key), fresh.keyPem, 0o600);
    writeFileAtomic(join(dir, files.cert), fresh.certPem, 0o600);
    reissued.push(leaf);
  }
  return result(false, reissued);
}

async function createDevTls(dataDir: string, dir: string, now: Date | undefined): Promise<void> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // Staging directories left by a crash are incomplete by definition; one node owns a data dir.
  for (const name of readdirSync(dataDir))
    if (name.startsWith(STAGING_PREFIX)) rmSync(join(dataDir, name), { recursive: true, force: true });

  // A random suffix keeps two dev CAs apart by name too (a browser or OS trust store that has
  // seen one would otherwise confuse them), not only by key.
  const ca = await createCa(
    { commonName: `Keymesh dev CA ${randomBytes(4).toString('hex')}`, organization: 'Keymesh' },
    now ? { now } : {},
  );
  const server = await issueDevLeaf(ca, 'server', now);
  const client = await issueDevLeaf(ca, 'client', now);

  const staging = join(dataDir, `${STAGING_PREFIX}${process.pid}`);
  mkdirSync(staging, { mode: 0o700 });
  chmodSync(staging, 0o700); // exactly 0700, whatever the umask
  const files: [string, string][] = [
    [DEV_TLS_FILES.caCert, ca.certPem],
    [DEV_TLS_FILES.caKey, ca.keyPem],
    [DEV_TLS_FILES.serverCert, server.certPem],
    [DEV_TLS_FILES.serverKey, server.keyPem],
    [DEV_TLS_FILES.clientCert, client.certPem],
    [DEV_TLS_FILES.clientKey, client.keyPem],
  ];
  for (const [name, pem] of files) writeFileAtomic(join(staging, name), pem, 0o600);
  renameSync(staging, dir);
  fsyncDir(dataDir);
}

function issueDevLeaf(ca: CertificateAuthority, leaf: Leaf, now: Date | undefined): Promise<CertBundle> {
  const when = now ? { now } : {};
  return leaf === 'server'
    ? issueServerCert(ca, { commonName: DEV_SERVER_CN, ...when })
    : issueClientCert(ca, { commonName: DEV_CLIENT_CN, ...when });
}

/** The pair if both files are readable, else undefined (to be issued again). */
function readBundle(certPath: string, keyPath: string): CertBundle | undefined {
  try {
    return { certPem: readFileSync(certPath, 'utf8'), keyPem: readFileSync(keyPath, 'utf8') };
  } catch {
    return undefined;
  }
}

/**
 * Private keys others can read are keys others may have copied: refuse, as ssh does, rather than
 * tighten the mode and carry on as if nothing happened.
 */
function assertOwnerOnly(dir: string): void {
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw invalid(`${dir} is not a directory`);
  if (st.mode & 0o077) throw invalid(`${dir} is accessible to other users; it must be mode 0700`);
  for (const name of [DEV_TLS_FILES.caKey, DEV_TLS_FILES.serverKey, DEV_TLS_FILES.clientKey]) {
    const p = join(dir, name);
    if (existsSync(p) && lstatSync(p).mode & 0o077)
      throw invalid(`${p} is readable by other users; it must be mode 0600`);
  }
}

function fsyncDir(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
