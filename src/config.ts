// Node configuration from flags and environment, checked before anything starts. Secrets are
// never taken from a flag: the unseal passphrase comes from a file or an interactive prompt.
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { invalid } from './errors.js';
import { isNodeId, isRegion } from './util/ids.js';

export interface HostPort {
  host: string;
  port: number;
}

export interface NodeConfig {
  dataDir: string;
  http: HostPort;
  kmip: HostPort;
  dev: boolean;
  nodeId: string | undefined;
  unsealPassphraseFile: string | undefined;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  logLevel: string;
  enclaveThreads: number | undefined;
  /** Cluster mode (`--cluster`); absent, the node is the embedded single-node default. */
  cluster: ClusterConfig | undefined;
  /** The chain the JSON-RPC signer reports (eth_chainId) unless a request names one (--chain-id). */
  chainId: number;
  /** Bounds on the HTTP listeners' connections and how long each may take. */
  httpLimits: HttpLimits;
}

/**
 * What one client can hold of the HTTP listener: without these caps a single address can open
 * connections until the process runs out of file descriptors, and a silent or slow client keeps a
 * socket (and a stopping node) for minutes.
 */
export interface HttpLimits {
  /** Open connections in all (--max-connections); past it new connections are closed at once. */
  maxConnections: number;
  /** Open connections from one client address, an IPv6 /64 counting as one (--max-connections-per-ip). */
  maxConnectionsPerIp: number;
  /** An idle keep-alive connection is closed after this (--idle-timeout). */
  idleTimeoutMs: number;
  /** The request line and headers must arrive within this of the connection's first byte (--headers-timeout). */
  headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this (--request-timeout). */
  requestTimeoutMs: number;
  /** On SIGTERM/SIGINT, in-flight requests get this long to finish before connections are cut (--shutdown-timeout). */
  shutdownTimeoutMs: number;
}

/** The limit flags: flag, environment variable, field, default and allowed range (seconds or a count). */
const HTTP_LIMIT_FLAGS = [
  {
    flag: 'max-connections',
    env: 'KEYMESH_MAX_CONNECTIONS',
    field: 'maxConnections',
    def: 1024,
    min: 1,
    max: 1_000_000,
    scale: 1,
  },
  {
    flag: 'max-connections-per-ip',
    env: 'KEYMESH_MAX_CONNECTIONS_PER_IP',
    field: 'maxConnectionsPerIp',
    def: 128,
    min: 1,
    max: 1_000_000,
    scale: 1,
  },
  {
    flag: 'idle-timeout',
    env: 'KEYMESH_IDLE_TIMEOUT',
    field: 'idleTimeoutMs',
    def: 5,
    min: 1,
    max: 3600,
    scale: 1000,
  },
  {
    flag: 'headers-timeout',
    env: 'KEYMESH_HEADERS_TIMEOUT',
    field: 'headersTimeoutMs',
    def: 10,
    min: 1,
    max: 3600,
    scale: 1000,
  },
  {
    flag: 'request-timeout',
    env: 'KEYMESH_REQUEST_TIMEOUT',
    field: 'requestTimeoutMs',
    def: 30,
    min: 1,
    max: 3600,
    scale: 1000,
  },
  {
    flag: 'shutdown-timeout',
    env: 'KEYMESH_SHUTDOWN_TIMEOUT',
    field: 'shutdownTimeoutMs',
    def: 10,
    min: 0,
    max: 3600,
    scale: 1000,
  },
] as const satisfies readonly {
  flag: keyof StartFlags;
  env: string;
  field: keyof HttpLimits;
  def: number;
  min: number;
  max: number;
  scale: number;
}[];

export const DEFAULT_HTTP_LIMITS: Readonly<HttpLimits> = Object.freeze(
  Object.fromEntries(HTTP_LIMIT_FLAGS.map((f) => [f.field, f.def * f.scale])) as unknown as HttpLimits,
);

function loadHttpLimits(flags: StartFlags, env: NodeJS.ProcessEnv): HttpLimits {
  const out = { ...DEFAULT_HTTP_LIMITS };
  const given = new Set<keyof HttpLimits>();
  for (const f of HTTP_LIMIT_FLAGS) {
    const value = flags[f.flag] ?? env[f.env];
    if (value === undefined) continue;
    const n = /^\d{1,7}$/.test(value) ? Number(value) : NaN;
    if (!(n >= f.min && n <= f.max))
      throw invalid(
        `--${f.flag} must be a whole number from ${f.min} to ${f.max}${f.scale === 1000 ? ' (seconds)' : ''}`,
      );
    out[f.field] = n * f.scale;
    given.add(f.field);
  }
  // A default never contradicts what was given: it shrinks to fit. Two given values must agree
  // (Node refuses a server whose headers may take longer than the whole request).
  if (out.headersTimeoutMs > out.requestTimeoutMs) {
    if (given.has('headersTimeoutMs') && given.has('requestTimeoutMs'))
      throw invalid('--headers-timeout must not be longer than --request-timeout');
    if (given.has('headersTimeoutMs')) out.requestTimeoutMs = out.headersTimeoutMs;
    else out.headersTimeoutMs = out.requestTimeoutMs;
  }
  if (out.maxConnectionsPerIp > out.maxConnections) {
    // The total is what keeps file descriptors in hand: never raised behind the operator's back.
    if (given.has('maxConnectionsPerIp'))
      throw invalid(
        `--max-connections-per-ip must not be more than --max-connections (${out.maxConnections})`,
      );
    out.maxConnectionsPerIp = out.maxConnections;
  }
  return out;
}

export interface ClusterConfig {
  /** etcd client URLs (http://HOST:PORT), from --cluster etcd://HOST:PORT[,HOST:PORT...]. */
  etcd: string[];
  region: string;
  level: number;
  /** The mutual-TLS peer listener (--peer HOST:PORT): forwarded calls arrive here. */
  peer: HostPort;
  /**
   * What `keymesh cluster init/add-node` wrote (--cluster-dir): ca.crt and nodes/ID/. Absent only
   * with --dev: the node then uses the development CA kept in etcd (src/cluster/dev-ca.ts).
   */
  dir: string | undefined;
}

export function parseHostPort(what: string, s: string): HostPort {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(s);
  if (!m) throw invalid(`${what} must be HOST:PORT (for IPv6, [ADDR]:PORT)`);
  const port = Number(m[3]);
  if (port > 65535) throw invalid(`${what} port must be 0 to 65535`);
  return { host: m[1] ?? m[2]!, port };
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

export function formatHostPort(h: HostPort): string {
  return isIP(h.host) === 6 ? `[${h.host}]:${h.port}` : `${h.host}:${h.port}`;
}

export interface StartFlags {
  'data-dir'?: string;
  http?: string;
  kmip?: string;
  dev?: boolean;
  'node-id'?: string;
  'unseal-passphrase-file'?: string;
  'tls-cert'?: string;
  'tls-key'?: string;
  'log-level'?: string;
  'enclave-threads'?: string;
  cluster?: string;
  region?: string;
  level?: string;
  peer?: string;
  'cluster-dir'?: string;
  'chain-id'?: string;
  'max-connections'?: string;
  'max-connections-per-ip'?: string;
  'idle-timeout'?: string;
  'headers-timeout'?: string;
  'request-timeout'?: string;
  'shutdown-timeout'?: string;
}

/** Ethereum mainnet: what the JSON-RPC signer reports when neither --chain-id nor ?chainId= says. */
export const DEFAULT_CHAIN_ID = 1;

/**
 * A chain id as given in a flag or a URL: decimal digits of a positive safe integer (EIP-155 ids
 * are positive; wallets keep them in JavaScript numbers), else undefined.
 */
export function parseChainId(v: unknown): number | undefined {
  if (typeof v !== 'string' || !/^[1-9][0-9]{0,15}$/.test(v)) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : undefined;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function loadConfig(flags: StartFlags, env: NodeJS.ProcessEnv = process.env): NodeConfig {
  const dev = flags.dev === true;
  const http = parseHostPort('--http', flags.http ?? env.KEYMESH_HTTP ?? '127.0.0.1:8520');
  const kmip = parseHostPort('--kmip', flags.kmip ?? env.KEYMESH_KMIP ?? '127.0.0.1:5696');
  const tlsCert = flags['tls-cert'] ?? env.KEYMESH_TLS_CERT;
  const tlsKey = flags['tls-key'] ?? env.KEYMESH_TLS_KEY;
  if ((tlsCert === undefined) !== (tlsKey === undefined))
    throw invalid('--tls-cert and --tls-key go together');
  if (dev && !isLoopback(http.host)) throw invalid('a --dev node listens on loopback only');
  if (!dev && !isLoopback(http.host) && tlsCert === undefined)
    throw invalid('refusing to listen on a non-loopback address without TLS (--tls-cert, --tls-key)');
  const logLevel = flags['log-level'] ?? env.KEYMESH_LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw invalid(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  const threads = flags['enclave-threads'] ?? env.KEYMESH_ENCLAVE_THREADS;
  const enclaveThreads = threads === undefined ? undefined : Number(threads);
  if (
    enclaveThreads !== undefined &&
    (!Number.isInteger(enclaveThreads) || enclaveThreads < 1 || enclaveThreads > 64)
  )
    throw invalid('--enclave-threads must be a whole number from 1 to 64');
  const nodeId = flags['node-id'] ?? env.KEYMESH_NODE_ID;
  if (nodeId !== undefined && !isNodeId(nodeId))
    throw invalid('--node-id must be 1 to 63 characters of A-Z a-z 0-9 ._-');
  const cluster = loadClusterConfig(flags, env, nodeId, dev);
  const chainFlag = flags['chain-id'] ?? env.KEYMESH_CHAIN_ID;
  const chainId = chainFlag === undefined ? DEFAULT_CHAIN_ID : parseChainId(chainFlag);
  if (chainId === undefined)
    throw invalid(`--chain-id must be a whole number from 1 to ${Number.MAX_SAFE_INTEGER}`);
  const httpLimits = loadHttpLimits(flags, env);
  return {
    dataDir: resolve(flags['data-dir'] ?? env.KEYMESH_DATA_DIR ?? './.keymesh'),
    http,
    kmip,
    dev,
    nodeId,
    unsealPassphraseFile: flags['unseal-passphrase-file'] ?? env.KEYMESH_UNSEAL_PASSPHRASE_FILE,
    tlsCert,
    tlsKey,
    logLevel,
    enclaveThreads,
    cluster,
    chainId,
    httpLimits,
  };
}

function loadClusterConfig(
  flags: StartFlags,
  env: NodeJS.ProcessEnv,
  nodeId: string | undefined,
  dev: boolean,
): ClusterConfig | undefined {
  const spec = flags.cluster ?? env.KEYMESH_CLUSTER;
  const given = ['region', 'level', 'peer', 'cluster-dir'].filter(
    (f) => flags[f as keyof StartFlags] !== undefined,
  );
  if (spec === undefined) {
    if (given.length > 0) throw invalid(`--${given[0]} needs --cluster`);
    return undefined;
  }
  const m = /^etcd:\/\/(.+)$/.exec(spec);
  if (!m) throw invalid('--cluster must be etcd://HOST:PORT[,HOST:PORT...]');
  const etcd = m[1]!.split(',').map((hp) => `http://${formatHostPort(parseHostPort('--cluster', hp))}`);
  if (nodeId === undefined) throw invalid('a cluster node needs --node-id');
  const region = flags.region ?? env.KEYMESH_REGION;
  if (region === undefined || !isRegion(region))
    throw invalid('--region must be 1 to 63 characters of A-Z a-z 0-9 ._-');
  const level = Number(flags.level ?? env.KEYMESH_LEVEL ?? '0');
  if (!Number.isInteger(level) || level < 0 || level > 10)
    throw invalid('--level must be a whole number from 0 to 10');
  // Port 0 by default: several nodes on one machine need no flag to keep out of each other's way
  // (the bound address is what the node registers).
  const peer = parseHostPort('--peer', flags.peer ?? env.KEYMESH_PEER ?? '127.0.0.1:0');
  const dir = flags['cluster-dir'] ?? env.KEYMESH_CLUSTER_DIR;
  if (dir === undefined && !dev)
    throw invalid('a cluster node needs --cluster-dir (made by keymesh cluster init and add-node)');
  return { etcd, region, level, peer, dir: dir === undefined ? undefined : resolve(dir) };
}
