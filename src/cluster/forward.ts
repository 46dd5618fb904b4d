// Forwarding: the transport of the peer channel. A node that holds no replica of a key sends the
// call, as the channel's typed message (peer-channel.ts), to a live node that does, over mutually
// authenticated TLS (DESIGN.md, "One request, end to end" and "Cluster: placement and sync";
// API.md, "Cluster"; issue 4, point 4; issue 8, point 4).
//
// Trust: both sides present a certificate issued by the cluster CA (src/tls/certs.ts, P-256; a
// node's certificate is a server certificate with clientAuth too, subject CN = its node id). The
// client verifies the peer's chain against the cluster CA only (`ca` replaces the system roots)
// and then that the certificate names the node it meant to reach (CN = node id, serverAuth), on
// every request, including ones sent on a kept-alive connection. Host names are not what is
// authenticated; node ids are (RFC 6125's reference identity here is the node id).
//
// What is sent: the given method, path and body, never a credential (the peer loads the token the
// call is for by id and checks it itself: peer-channel.ts), the request id in
// `x-keymesh-request-id` (both nodes audit under it), and `x-keymesh-forwarded-by` with this node's
// id, which the peer checks against the certificate (a forwarded call is never forwarded again).
//
// Failure, for the caller to map: when the call provably never reached the peer's application
// (connection refused or timed out, TLS refused by either side, wrong identity) the next candidate
// is tried; so is an answer carrying `x-keymesh-forward-refused` (the peer declined before acting:
// not live, holds no replica). Once the request may have been processed (a reset or timeout after
// it was sent, an oversized answer), nothing is retried, because a retry could sign or spend twice.
// Both end in NO_LIVE_REPLICA with details.outcome 'not_sent' or 'unknown'. Bounded everywhere:
// connect and total time, request and answer size.
import { Agent, request, type ServerOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { KeymeshError, invalid } from '../errors.js';
import { checkNodeId, isNodeId, parsePeerEndpoint } from './ids.js';

export const HEADER_REQUEST_ID = 'x-keymesh-request-id';
export const HEADER_FORWARDED_BY = 'x-keymesh-forwarded-by';
/** Set by a peer that declined a forwarded call before acting on it: try another holder. */
export const HEADER_FORWARD_REFUSED = 'x-keymesh-forward-refused';

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
export const DEFAULT_MAX_BYTES = 1024 * 1024;
const MAX_PATH_CHARS = 2048;
const REQUEST_ID_RE = /^[A-Za-z0-9_-]{1,128}$/;
const PATH_RE = /^\/(?!\/)[\x21-\x7e]*$/;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/** PEM: the cluster CA certificate, and this node's certificate and key. */
export interface PeerTls {
  ca: string;
  cert: string;
  key: string;
}

export interface ForwardTarget {
  nodeId: string;
  /** https://HOST:PORT, as the node registered it. */
  endpoint: string;
  /** The lease of the registration the endpoint was read from (a restart brings a new one). */
  lease?: string;
}

export interface ForwardRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path and query, e.g. /v1/keys/ID/sign. */
  path: string;
  body?: string | Uint8Array;
  requestId: string;
  /** Default application/json when there is a body. */
  contentType?: string;
}

export interface ForwardResponse {
  /** The node that answered, as its certificate proves. */
  nodeId: string;
  status: number;
  contentType: string | undefined;
  body: Buffer;
}

export interface ForwarderOptions {
  selfNodeId: string;
  /** Whole call, connect to last byte. Default 10 s. */
  timeoutMs?: number;
  /** TCP connect plus TLS handshake. Default 2 s. */
  connectTimeoutMs?: number;
  maxRequestBytes?: number;
  maxResponseBytes?: number;
}

type Outcome = 'not_sent' | 'unknown';

interface Attempt {
  nodeId: string;
  reason: string;
}

class AttemptError extends Error {
  constructor(
    readonly outcome: Outcome,
    readonly reason: string,
  ) {
    super(reason);
  }
}

function subjectCn(cert: PeerCertificate | undefined): string | undefined {
  const cn: unknown = cert?.subject?.CN;
  return typeof cn === 'string' ? cn : undefined; // several CNs: an array, refused
}

/** Why `cert` is not node `nodeId`'s certificate for `purpose`, or undefined if it is. */
function identityProblem(cert: PeerCertificate | undefined, nodeId: string, purpose: 'server' | 'client') {
  if (!cert || Object.keys(cert).length === 0) return 'no certificate';
  if (subjectCn(cert) !== nodeId) return 'the certificate names another node';
  const eku = (cert as PeerCertificate & { ext_key_usage?: string[] }).ext_key_usage;
  if (!eku?.includes(purpose === 'server' ? SERVER_AUTH : CLIENT_AUTH)) return `not a ${purpose} certificate`;
  return undefined;
}

// Errors that happen before any byte of the request can have reached the peer's application.
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export class Forwarder {
  private readonly agent: Agent;
  private readonly selfNodeId: string;
  private readonly timeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly maxRequestBytes: number;
  private readonly maxResponseBytes: number;

  constructor(tls: PeerTls, opts: ForwarderOptions) {
    if (!tls || typeof tls.ca !== 'string' || typeof tls.cert !== 'string' || typeof tls.key !== 'string')
      throw invalid('forwarding needs the cluster CA and this node’s certificate and key, PEM');
    this.selfNodeId = checkNodeId(opts.selfNodeId, 'selfNodeId');
    const ms = (v: number | undefined, d: number, what: string) => {
      const x = v ?? d;
      if (!Number.isSafeInteger(x) || x < 1 || x > 600_000) throw invalid(`${what} must be 1 to 600000 ms`);
      return x;
    };
    this.timeoutMs = ms(opts.timeoutMs, DEFAULT_TIMEOUT_MS, 'timeoutMs');
    this.connectTimeoutMs = Math.min(
      this.timeoutMs,
      ms(opts.connectTimeoutMs, DEFAULT_CONNECT_TIMEOUT_MS, 'connectTimeoutMs'),
    );
    const bytes = (v: number | undefined, what: string) => {
      const x = v ?? DEFAULT_MAX_BYTES;
      if (!Number.isSafeInteger(x) || x < 1 || x > 64 * 1024 * 1024)
        throw invalid(`${what} must be 1 byte to 64 MiB`);
      return x;
    };
    this.maxRequestBytes = bytes(opts.maxRequestBytes, 'maxRequestBytes');
    this.maxResponseBytes = bytes(opts.maxResponseBytes, 'maxResponseBytes');
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: 64,
      maxFreeSockets: 8,
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      // No TLS session resumption: a resumed session presents no peer certificate to check, and
      // every new connection should prove the peer's identity afresh. Keep-alive keeps it cheap.
      maxCachedSessions: 0,
      // The chain is verified against the cluster CA by TLS; the identity that matters is the
      // node id, checked on every connection before anything is sent (onReady in forward), not
      // the host name the endpoint happens to use. Kept on the agent, not per request: Node 24
      // files a connection under its request's options, so a per-request function would keep
      // every connection from being reused.
      checkServerIdentity: () => undefined,
    });
  }

  /** Forward to one node. NO_LIVE_REPLICA (details.outcome) when it did not answer. */
  async forward(target: ForwardTarget, req: ForwardRequest): Promise<ForwardResponse> {
    return this.forwardToAny([target], req);
  }

  /**
   * Try `targets` in order (see placement.forwardOrder) until one answers; move on only when the
   * call provably was not acted on. NO_LIVE_REPLICA with details.outcome and the attempts otherwise.
   */
  async forwardToAny(targets: readonly ForwardTarget[], req: ForwardRequest): Promise<ForwardResponse> {
    if (!Array.isArray(targets)) throw invalid('targets must be a list');
    const checked = targets.map((t) => ({
      nodeId: checkNodeId(t?.nodeId, 'target node id'),
      url: parsePeerEndpoint(t.endpoint),
    }));
    const body = this.checkRequest(req);
    const attempts: Attempt[] = [];
    for (const t of checked) {
      if (t.nodeId === this.selfNodeId) continue; // never to ourselves
      try {
        const res = await this.once(t.nodeId, t.url, req, body);
        if (res.refused) {
          attempts.push({ nodeId: t.nodeId, reason: `declined (${res.status})` });
          continue;
        }
        return res.response;
      } catch (e) {
        if (!(e instanceof AttemptError)) throw e;
        attempts.push({ nodeId: t.nodeId, reason: e.reason });
        if (e.outcome === 'unknown')
          throw new KeymeshError('NO_LIVE_REPLICA', 'The node holding this key did not answer.', {
            details: { outcome: 'unknown', attempts },
          });
      }
    }
    throw new KeymeshError('NO_LIVE_REPLICA', 'No live node holding this key could be reached.', {
      details: { outcome: 'not_sent', attempts },
    });
  }

  close(): void {
    this.agent.destroy();
  }

  private checkRequest(req: ForwardRequest): Buffer | undefined {
    if (!req || typeof req !== 'object') throw invalid('a forward request must be an object');
    if (!['GET', 'POST', 'PUT', 'DELETE'].includes(req.method))
      throw invalid('method must be GET, POST, PUT or DELETE');
    if (typeof req.path !== 'string' || req.path.length > MAX_PATH_CHARS || !PATH_RE.test(req.path))
      throw invalid('path must be an absolute path of printable ASCII');
    if (typeof req.requestId !== 'string' || !REQUEST_ID_RE.test(req.requestId))
      throw invalid('requestId must be 1 to 128 characters of A-Z a-z 0-9 _ -');
    if (
      req.contentType !== undefined &&
      (typeof req.contentType !== 'string' || !/^[\x20-\x7e]{1,128}$/.test(req.contentType))
    )
      throw invalid('contentType must be printable ASCII');
    if (req.body === undefined) return undefined;
    const body =
      typeof req.body === 'string'
        ? Buffer.from(req.body, 'utf8')
        : req.body instanceof Uint8Array
          ? Buffer.from(req.body.buffer, req.body.byteOffset, req.body.byteLength)
          : undefined;
    if (!body) throw invalid('body must be a string or bytes');
    if (body.length > this.maxRequestBytes)
      throw new KeymeshError(
        'PAYLOAD_TOO_LARGE',
        `a forwarded body is at most ${this.maxRequestBytes} bytes`,
      );
    return body;
  }

  private once(
    nodeId: string,
    url: URL,
    req: ForwardRequest,
    body: Buffer | undefined,
  ): Promise<{ response: ForwardResponse; refused: boolean; status: number }> {
    const headers: Record<string, string> = {
      [HEADER_REQUEST_ID]: req.requestId,
      [HEADER_FORWARDED_BY]: this.selfNodeId,
      accept: 'application/json',
    };
    if (body) {
      headers['content-type'] = req.contentType ?? 'application/json';
      headers['content-length'] = String(body.length);
    }
    return new Promise((resolve, reject) => {
      let sent = false; // once true, the peer may have acted on the request
      let settled = false;
      const finish = (
        err: AttemptError | undefined,
        value?: { response: ForwardResponse; refused: boolean; status: number },
      ) => {
        if (settled) return;
        settled = true;
        clearTimeout(total);
        clearTimeout(connect);
        if (err) {
          r.destroy();
          reject(err);
        } else resolve(value!);
      };
      const r = request({
        protocol: 'https:',
        hostname: url.hostname.replace(/^\[|\]$/g, ''),
        port: Number(url.port),
        method: req.method,
        path: req.path,
        headers,
        agent: this.agent,
      });
      const total = setTimeout(
        () => finish(new AttemptError(sent ? 'unknown' : 'not_sent', 'timed out')),
        this.timeoutMs,
      );
      const connect = setTimeout(() => {
        if (!sent) finish(new AttemptError('not_sent', 'connect timed out'));
      }, this.connectTimeoutMs);
      r.on('socket', (s) => {
        const sock = s as TLSSocket;
        const onReady = () => {
          // A kept-alive connection was verified for whoever it first reached: check again.
          const problem = identityProblem(sock.getPeerCertificate(), nodeId, 'server');
          if (problem) return finish(new AttemptError('not_sent', `peer identity: ${problem}`));
          clearTimeout(connect);
          sent = true;
          if (body) r.end(body);
          else r.end();
        };
        if (sock.connecting || !sock.authorized) sock.once('secureConnect', onReady);
        else onReady();
      });
      r.on('error', (e: NodeJS.ErrnoException) => {
        const code = e.code ?? '';
        const tlsRefused = code.startsWith('ERR_SSL_') || NOT_SENT_CODES.has(code);
        finish(
          new AttemptError(!sent || tlsRefused ? 'not_sent' : 'unknown', code || e.message.slice(0, 120)),
        );
      });
      r.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > this.maxResponseBytes) return finish(new AttemptError('unknown', 'answer too large'));
          chunks.push(c);
        });
        res.on('error', () => finish(new AttemptError('unknown', 'answer cut short')));
        res.on('aborted', () => finish(new AttemptError('unknown', 'answer cut short')));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const ct = res.headers['content-type'];
          finish(undefined, {
            status,
            refused: res.headers[HEADER_FORWARD_REFUSED] !== undefined,
            response: {
              nodeId,
              status,
              contentType: typeof ct === 'string' ? ct : undefined,
              body: Buffer.concat(chunks),
            },
          });
        });
      });
    });
  }
}

/**
 * TLS options for a node's peer listener: the node's certificate, and a client certificate from
 * the cluster CA required of every connection (TLS 1.2+).
 */
export function peerServerOptions(tls: PeerTls): ServerOptions {
  return {
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
  };
}

/** The node id a peer connection authenticated as (its client certificate's CN), or undefined. */
export function peerNodeId(socket: TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  const cn = subjectCn(cert);
  if (!isNodeId(cn)) return undefined;
  return identityProblem(cert, cn, 'client') ? undefined : cn;
}
