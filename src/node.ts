// A Keymesh node: opens the store, the enclave and the audit log, bootstraps the admin token on
// first start, serves HTTP, and on stop drains in-flight requests before closing everything in
// the reverse order. The only place the parts are wired together. Every start failure is one
// readable line naming what failed (startStep), and a data dir serves one node at a time.
// First: no SIGUSR1 inspector and no key memory in core dumps, before any key is unsealed.
import './process/harden.js';
import { randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { buildHttpServer } from './api/http/server.js';
import { AuditLog } from './audit/log.js';
import { formatHostPort, type NodeConfig } from './config.js';
import { Core } from './core/core.js';
import { bootstrapAdminToken } from './core/tokens/create.js';
import type { Enclave } from './enclave/enclave.js';
import { DEV_KEY_FILE, SEAL_CONFIG_FILE } from './enclave/sealing-key.js';
import { createSoftwareEnclave } from './enclave/software/pool.js';
import { invalid, isKeymeshError, KeymeshError } from './errors.js';
import { NodeMetrics } from './metrics.js';
import { openSqliteStore } from './store/sqlite.js';
import { ensureDevTls } from './tls/dev.js';
import type { Store } from './store/store.js';
import { writeFileAtomic } from './util/files.js';
import { wipe } from './util/bytes.js';
import { VERSION } from './version.js';
import { logLine, printLine } from './log/sink.js';
import { type DataDirLock, lockDataDir } from './process/datadir-lock.js';
import { nodeTlsDir, NODE_CERT_FILE, NODE_KEY_FILE } from './cli/commands/cluster.js';
import { Membership } from './cluster/membership.js';
import { awaitAcks, StateAcker } from './cluster/fencing.js';
import { Forwarder, peerServerOptions } from './cluster/forward.js';
import { ClusterRouting } from './cluster/routing.js';
import { MAX_PEER_BODY_BYTES, peerRouter } from './cluster/peer-channel.js';
import { buildPeerServer } from './api/peer/server.js';
import { devClusterTls, type ClusterTls } from './cluster/dev-ca.js';
import { KeyCache } from './cluster/key-cache.js';
import { ReplicaSync } from './cluster/sync.js';
import { ClusterIntegrity } from './cluster/integrity.js';
import {
  ATTESTATION_TYPE_SOFTWARE_V1,
  readNodeGrant,
  signAttestation,
} from './enclave/crypto/attestation.js';
import { openEtcdStore } from './store/etcd.js';
import { CA_FILE } from './tls/certs.js';
import type { ClusterConfig } from './config.js';
import { BOOTSTRAP_KEY } from './store/layout.js';

export interface RunningNode {
  nodeId: string;
  httpAddress: string;
  /** Cluster mode: the mutual-TLS peer listener. */
  peerAddress?: string;
  adminTokenPath: string;
  stop(): Promise<void>;
}

/** How long one registration waits for a holder to wrap the integrity key to this node. */
const INTEGRITY_WAIT_MS = 30_000;

export async function startNode(
  config: NodeConfig,
  opts: { passphrase?: Uint8Array; print?: (line: string) => void } = {},
): Promise<RunningNode> {
  const print = opts.print ?? printLine;
  const dir = config.dataDir;
  await startStep(`data dir ${dir}`, () => mkdirSync(dir, { recursive: true, mode: 0o700 }));
  // Before anything else reads or writes the dir: a second node on it stops here.
  const lock = await startStep(`data dir ${dir}`, () => lockDataDir(dir));
  try {
    return await startLocked(config, opts, print, lock);
  } catch (e) {
    lock.release();
    throw e;
  }
}

async function startLocked(
  config: NodeConfig,
  opts: { passphrase?: Uint8Array },
  print: (line: string) => void,
  lock: DataDirLock,
): Promise<RunningNode> {
  const dir = config.dataDir;
  assertSealingMode(config.dataDir, config.dev);
  const nodeId = await startStep(`node id file ${join(dir, 'node.json')}`, () =>
    loadOrCreateNodeId(config.dataDir, config.nodeId),
  );
  // Before anything listens: the KMIP listener and local tools read DIR/tls/ (API.md, --dev).
  if (config.dev) await startStep(`TLS material in ${join(dir, 'tls')}`, () => ensureDevTls(config.dataDir));
  const metrics = new NodeMetrics();

  let store: Store | undefined;
  let enclave: Enclave | undefined;
  let audit: AuditLog | undefined;
  let app: FastifyInstance | undefined;
  let peerApp: FastifyInstance | undefined;
  let membership: Membership | undefined;
  let forwarder: Forwarder | undefined;
  let acker: StateAcker | undefined;
  let sync: ReplicaSync | undefined;
  let keyCache: KeyCache | undefined;
  let integrity: ClusterIntegrity | undefined;
  let core: Core | undefined;
  const closeAll = async () => {
    integrity?.close();
    sync?.close();
    keyCache?.close();
    forwarder?.close();
    acker?.close();
    await app?.close();
    await peerApp?.close();
    // Closing (not leaving): the lease goes, the member record stays, so the node is known as down.
    await membership?.close();
    // The aggregate of unauthenticated refusals is written before the log closes.
    await core?.close();
    await audit?.close();
    await enclave?.close();
    await store?.close();
    lock.release();
  };
  try {
    // In a cluster, etcd first: a --dev cluster node without --cluster-dir finds its CA there.
    const etcd = config.cluster ? await openEtcdStore(config.cluster.etcd) : undefined;
    store = etcd;
    const c0 = config.cluster;
    const clusterFiles = !c0
      ? undefined
      : c0.dir !== undefined
        ? readClusterFiles({ ...c0, dir: c0.dir }, nodeId)
        : await devClusterTls(etcd!, { id: nodeId, region: c0.region, level: c0.level });
    enclave = await startStep('enclave', () =>
      createSoftwareEnclave({
        dataDir: config.dataDir,
        dev: config.dev,
        ...(clusterFiles ? { cluster: { nodeId, ca: clusterFiles.ca } } : {}),
        ...(opts.passphrase ? { passphrase: opts.passphrase } : {}),
        ...(config.enclaveThreads ? { threads: config.enclaveThreads } : {}),
      }),
    );
    if (opts.passphrase) wipe(opts.passphrase);
    if (etcd) {
      // The cluster integrity key every key and token record is MAC'd under: the first node makes
      // it; a joining node receives it wrapped to its enclave once it is a member (below).
      const keys = enclave.integrity;
      if (!keys)
        throw new KeymeshError('ENCLAVE_FAILURE', 'this enclave cannot hold the cluster integrity key');
      integrity = await startStep('cluster integrity key', () =>
        ClusterIntegrity.start(etcd, keys, nodeId, (e) =>
          logLine(`keymesh: cluster integrity: ${e.message}`),
        ),
      );
    }
    const dbPath = join(config.dataDir, 'keymesh.db');
    store = etcd ?? (await startStep(`store ${dbPath}`, () => openSqliteStore(dbPath)));
    if (etcd) {
      // An optimisation only: without it every call reads etcd, which is always correct.
      try {
        keyCache = await KeyCache.start(etcd, (e) => logLine(`keymesh: cluster key cache: ${e.message}`));
      } catch (e) {
        logLine(`keymesh: cluster key cache not started: ${(e as Error).message}`);
      }
    }
    const auditPath = join(config.dataDir, 'audit.db');
    audit = await startStep(`audit log ${auditPath}`, () =>
      AuditLog.open({
        path: auditPath,
        nodeId,
        onCommit: (s, n) => metrics.auditCommitted(s, n),
      }),
    );
    core = new Core({
      nodeId,
      version: VERSION,
      store,
      enclave,
      audit,
      metrics,
      // Read through `membership`, which joins after the core exists (bootstrap needs the core).
      ...(config.cluster && etcd
        ? {
            cluster: {
              nodeId,
              isLive: () => membership?.isLive() ?? false,
              liveNodes: () => membership?.liveNodes() ?? [],
              ...(keyCache ? { keyCache } : {}),
              awaitApplied: async (keyId: string, revision: number, holders: readonly string[]) => {
                await awaitAcks(etcd, keyId, revision, holders);
              },
              nodes: () => membership?.nodes() ?? [],
              removeNode: async (id: string) => {
                if (!membership)
                  throw new KeymeshError('UNAVAILABLE', 'This node is still joining the cluster.');
                await membership.remove(id);
              },
            },
          }
        : {}),
    });

    const adminTokenPath = join(config.dataDir, 'admin.token');
    if (etcd) {
      // Once per cluster: the node whose compare-and-set creates the marker makes the admin token
      // and is the only one to write it to its data dir. Only a node holding the integrity key
      // claims (the token record is MAC'd under it): the one that made the key always does. The
      // claim comes first so two nodes starting together cannot both make one; a crash between
      // claim and token leaves the cluster without an admin token (remedy: delete the marker in
      // etcd and restart a node).
      const claim = !integrity?.held()
        ? { ok: false }
        : await etcd.txn(
            [{ key: BOOTSTRAP_KEY, modRevision: 0 }],
            [
              {
                type: 'put',
                key: BOOTSTRAP_KEY,
                value: JSON.stringify({ by: nodeId, at: new Date().toISOString() }),
              },
            ],
          );
      if (claim.ok) {
        const { id, token } = await bootstrapAdminToken(core.deps);
        writeFileAtomic(adminTokenPath, token + '\n', 0o600);
        await etcd.put(
          BOOTSTRAP_KEY,
          JSON.stringify({ adminTokenId: id, by: nodeId, at: new Date().toISOString() }),
        );
        print(`keymesh admin token written to ${adminTokenPath}`);
      }
    } else if (!(await store.get(BOOTSTRAP_KEY))) {
      // The file first: a crash before the marker is written just bootstraps again next start.
      const { id, token } = await bootstrapAdminToken(core.deps);
      writeFileAtomic(adminTokenPath, token + '\n', 0o600);
      await store.put(BOOTSTRAP_KEY, JSON.stringify({ adminTokenId: id, at: new Date().toISOString() }));
      print(`keymesh admin token written to ${adminTokenPath}`);
    }

    let peerAddress: string | undefined;
    let routing: ClusterRouting | undefined;
    if (etcd && config.cluster && clusterFiles) {
      forwarder = new Forwarder(clusterFiles.peer, {
        selfNodeId: nodeId,
        maxRequestBytes: MAX_PEER_BODY_BYTES,
      });
      routing = new ClusterRouting(
        nodeId,
        config.cluster.region,
        etcd,
        () => membership,
        forwarder,
        keyCache,
      );
      // Routing is a step of the core: it decides, after authorisation, where a call runs.
      core.useRouter(peerRouter(routing));
      const c = config.cluster;
      const transport = '0x' + Buffer.from(enclave.transportPublicKey!()).toString('hex');
      const now = Date.now();
      // Signed with this node's own certificate key; peers accept it only for the region and
      // level the certificate grants (src/cli/commands/cluster.ts: the trust model).
      const attestation = signAttestation(
        {
          type: ATTESTATION_TYPE_SOFTWARE_V1,
          nodeId,
          region: c.region,
          level: c.level,
          transportPublicKey: transport,
          enclaveKind: 'software',
          issuedAt: now - 60_000,
          expiresAt: Math.min(now + 30 * 86_400_000, clusterFiles.validTo),
        },
        clusterFiles.peer.key,
        { certificate: clusterFiles.peer.cert },
      );
      // The peer listener serves the peer channel only (src/api/peer/server.ts), never the API.
      peerApp = await buildPeerServer({
        core,
        metrics,
        logLevel: config.logLevel,
        peerTls: peerServerOptions(clusterFiles.peer),
        limits: config.httpLimits,
      });
      const pa = peerApp;
      await startStep(`peer listener ${formatHostPort(c.peer)}`, () =>
        pa.listen({ host: c.peer.host, port: c.peer.port }),
      );
      const peerPort = (peerApp.server.address() as AddressInfo).port;
      peerAddress = formatHostPort({ host: c.peer.host, port: peerPort });
      // Every node applies (evicts the unsealed copy) and acknowledges every state change away
      // from active; the writer waits only for the holders'. Started before joining, so that
      // joining ends with a resync (a node is live only once it has caught up).
      const e = enclave;
      acker = await StateAcker.start(etcd, () => membership, {
        holds: () => true,
        // The key cache shows the change before this node acknowledges it (key-cache.ts).
        apply: async (c) => {
          await keyCache?.caughtUp(c.modRevision, 5000);
          await e.evict?.(c.keyId);
        },
        onError: (err) => logLine(`keymesh: cluster: ${err.message}`),
      });
      const a = acker;
      const ci = integrity!;
      membership = await Membership.join(
        etcd,
        {
          id: nodeId,
          region: c.region,
          level: c.level,
          endpoints: [`https://${peerAddress}`],
          transportPublicKey: transport,
          attestation,
        },
        {
          ca: clusterFiles.ca,
          // Live only once it holds the integrity key (received from a holder now that it is a
          // member), then caught up.
          ready: async () => {
            await ci.receive(transport, INTEGRITY_WAIT_MS);
            await a.resync();
          },
          onError: (e) => logLine(`keymesh: cluster: ${e.message}`),
        },
      );
    }
    if (etcd && membership) {
      integrity?.startSharing(membership);
      sync = new ReplicaSync(etcd, nodeId, membership, enclave, (e) =>
        logLine(`keymesh: cluster sync: ${e.message}`),
      );
      sync.start();
    }
    const m = membership;
    app = await buildHttpServer({
      core,
      metrics,
      version: VERSION,
      logLevel: config.logLevel,
      limits: config.httpLimits,
      ...(m ? { cluster: true } : {}),
      rpc: { chainId: config.chainId },
      ...(config.tlsCert && config.tlsKey
        ? { tls: { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) } }
        : {}),
    });
    const a = app;
    await startStep(`HTTP listener ${formatHostPort(config.http)}`, () =>
      a.listen({ host: config.http.host, port: config.http.port }),
    );
    const addr = app.server.address() as AddressInfo;
    const httpAddress = formatHostPort({ host: config.http.host, port: addr.port });
    if (peerAddress) print(`keymesh cluster peer=${peerAddress} region=${config.cluster!.region}`);
    print(`keymesh ready http=${httpAddress} kmip=off node=${nodeId}`);

    let stopping: Promise<void> | undefined;
    return {
      nodeId,
      httpAddress,
      ...(peerAddress ? { peerAddress } : {}),
      adminTokenPath,
      stop: () => (stopping ??= closeAll()),
    };
  } catch (e) {
    await closeAll().catch(() => undefined);
    throw e;
  }
}

/**
 * The cluster dir's files this node needs: ca.crt and its own nodes/ID/ (keymesh cluster init /
 * add-node), never ca.key. The certificate must grant the --region and --level it was started with.
 */
function readClusterFiles(c: ClusterConfig & { dir: string }, nodeId: string): ClusterTls {
  const nodeDir = nodeTlsDir(c.dir, nodeId);
  const read = (p: string, what: string) => {
    if (!existsSync(p)) throw invalid(`${p} is missing: ${what}`);
    return readFileSync(p, 'utf8');
  };
  const addNode = `run keymesh cluster add-node --node-id ${nodeId} --region R --level N`;
  const ca = read(join(c.dir, CA_FILE), 'run keymesh cluster init --dir DIR');
  const cert = read(join(nodeDir, NODE_CERT_FILE), addNode);
  const key = read(join(nodeDir, NODE_KEY_FILE), addNode);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw invalid(`${join(nodeDir, NODE_CERT_FILE)} is not a certificate`);
  }
  const grant = readNodeGrant(x509);
  if (!grant || grant.nodeId !== nodeId)
    throw invalid(`${join(nodeDir, NODE_CERT_FILE)} grants no region and level to ${nodeId}: ${addNode}`);
  if (grant.region !== c.region || grant.level !== c.level)
    throw invalid(
      `${nodeId}'s certificate grants region ${grant.region} level ${grant.level}, not --region ${c.region} --level ${c.level}; re-issue it with add-node to change them`,
    );
  return { ca, peer: { ca, cert, key }, validTo: Date.parse(x509.validTo) };
}

/**
 * A data dir is sealed one way for life. Started the other way, the enclave would make a second
 * sealing key beside the first: every existing key would fail to unseal (500 on each signature)
 * and new keys would be sealed under a key the next start in the original mode cannot open.
 */
function assertSealingMode(dataDir: string, dev: boolean): void {
  if (dev && existsSync(join(dataDir, SEAL_CONFIG_FILE)))
    throw new KeymeshError(
      'INVALID_REQUEST',
      `${dataDir} is sealed with an unseal passphrase (${SEAL_CONFIG_FILE}); start it without --dev`,
    );
  if (!dev && existsSync(join(dataDir, DEV_KEY_FILE)))
    throw new KeymeshError(
      'INVALID_REQUEST',
      `${dataDir} belongs to a --dev node (${DEV_KEY_FILE}); start it with --dev, or use a new data dir`,
    );
}

/** A data dir belongs to one node id for life: its audit chain names that node in every entry. */
function loadOrCreateNodeId(dataDir: string, requested: string | undefined): string {
  const path = join(dataDir, 'node.json');
  if (existsSync(path)) {
    const existing = (JSON.parse(readFileSync(path, 'utf8')) as { nodeId: string }).nodeId;
    if (requested !== undefined && requested !== existing)
      throw invalid(`this data directory belongs to node ${existing}, not ${requested}`);
    return existing;
  }
  const nodeId = requested ?? `node-${randomBytes(4).toString('hex')}`;
  writeFileAtomic(path, JSON.stringify({ nodeId }) + '\n', 0o600);
  return nodeId;
}

/**
 * One step of starting, so that its failure reads as one line naming what failed ("audit log
 * DIR/audit.db: file is not a database"), never as an object or a stack. Typed errors keep
 * their code.
 */
async function startStep<T>(what: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isKeymeshError(e)) throw new KeymeshError(e.code, `${what}: ${e.shortMessage}`, { cause: e });
    throw new KeymeshError('UNAVAILABLE', `${what}: ${describeFailure(e)}`, { cause: e });
  }
}

/** A thrown value as one line of text, whatever it is. */
export function describeFailure(e: unknown): string {
  let text: string | undefined;
  if (e instanceof Error) text = e.message;
  else if (typeof e === 'object' && e !== null) {
    const m = (e as { message?: unknown; code?: unknown }).message;
    const c = (e as { code?: unknown }).code;
    if (typeof m === 'string') text = m;
    else if (typeof c === 'string') text = c;
  } else if (e !== undefined && e !== null) text = String(e);
  const line = (text ?? '').replace(/\s+/g, ' ').trim();
  return line.length === 0 ? 'failed for an unknown reason' : line.slice(0, 500);
}
