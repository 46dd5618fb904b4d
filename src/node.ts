// A Keymesh node: opens the store, the enclave and the audit log, bootstraps the admin token on
// first start, serves HTTP, and on stop drains in-flight requests before closing everything in
// the reverse order. The only place the parts are wired together.
import { randomBytes } from 'node:crypto';
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
import { KeymeshError } from './errors.js';
import { NodeMetrics } from './metrics.js';
import { openSqliteStore } from './store/sqlite.js';
import { ensureDevTls } from './tls/dev.js';
import type { Store } from './store/store.js';
import { invalid } from './errors.js';
import { writeFileAtomic } from './util/files.js';
import { wipe } from './util/bytes.js';
import { VERSION } from './version.js';

export interface RunningNode {
  nodeId: string;
  httpAddress: string;
  adminTokenPath: string;
  stop(): Promise<void>;
}

const BOOTSTRAP_KEY = 'system/bootstrap';

export async function startNode(
  config: NodeConfig,
  opts: { passphrase?: Uint8Array; print?: (line: string) => void } = {},
): Promise<RunningNode> {
  const print = opts.print ?? ((l: string) => process.stdout.write(l + '\n'));
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  assertSealingMode(config.dataDir, config.dev);
  const nodeId = loadOrCreateNodeId(config.dataDir, config.nodeId);
  // Before anything listens: the KMIP listener and local tools read DIR/tls/ (API.md, --dev).
  if (config.dev) await ensureDevTls(config.dataDir);
  const metrics = new NodeMetrics();

  let store: Store | undefined;
  let enclave: Enclave | undefined;
  let audit: AuditLog | undefined;
  let app: FastifyInstance | undefined;
  const closeAll = async () => {
    await app?.close();
    await audit?.close();
    await enclave?.close();
    await store?.close();
  };
  try {
    enclave = await createSoftwareEnclave({
      dataDir: config.dataDir,
      dev: config.dev,
      ...(opts.passphrase ? { passphrase: opts.passphrase } : {}),
      ...(config.enclaveThreads ? { threads: config.enclaveThreads } : {}),
    });
    if (opts.passphrase) wipe(opts.passphrase);
    store = await openSqliteStore(join(config.dataDir, 'keymesh.db'));
    audit = await AuditLog.open({
      path: join(config.dataDir, 'audit.db'),
      nodeId,
      onCommit: (s, n) => metrics.auditCommitted(s, n),
    });
    const core = new Core({ nodeId, version: VERSION, store, enclave, audit, metrics });

    const adminTokenPath = join(config.dataDir, 'admin.token');
    if (!(await store.get(BOOTSTRAP_KEY))) {
      // The file first: a crash before the marker is written just bootstraps again next start.
      const { id, token } = await bootstrapAdminToken(core.deps);
      writeFileAtomic(adminTokenPath, token + '\n', 0o600);
      await store.put(BOOTSTRAP_KEY, JSON.stringify({ adminTokenId: id, at: new Date().toISOString() }));
      print(`keymesh admin token written to ${adminTokenPath}`);
    }

    app = await buildHttpServer({
      core,
      metrics,
      version: VERSION,
      logLevel: config.logLevel,
      ...(config.tlsCert && config.tlsKey
        ? { tls: { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) } }
        : {}),
    });
    await app.listen({ host: config.http.host, port: config.http.port });
    const addr = app.server.address() as AddressInfo;
    const httpAddress = formatHostPort({ host: config.http.host, port: addr.port });
    print(`keymesh ready http=${httpAddress} kmip=off node=${nodeId}`);

    let stopping: Promise<void> | undefined;
    return {
      nodeId,
      httpAddress,
      adminTokenPath,
      stop: () => (stopping ??= closeAll()),
    };
  } catch (e) {
    await closeAll().catch(() => undefined);
    throw e;
  }
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
