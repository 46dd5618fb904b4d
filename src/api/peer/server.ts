// The peer listener (cluster mode): mutual TLS, a client certificate from the cluster CA required
// of every connection (cluster/forward.ts peerServerOptions), and one operation route, the peer
// channel's POST /peer/v1/operations (beside GET /v1/health) (wire format: cluster/peer-channel.ts). Only a cluster node may call it:
// the client certificate must be a node's (peerOf below), or the call is FORBIDDEN before its body
// is read. The call runs through Core.runKeyOperation, the same pipeline and audit
// as a local call, as the peer principal (that node acting for that token): it runs here or is
// declined (one hop). The public listener has no such route. Bodies are JSON, bounded, decoded by
// the operation's codec: anything else is a typed refusal (400, 403, 413, 415), never a 500.
import type { ServerOptions } from 'node:https';
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import Fastify, { type FastifyError, type FastifyInstance, LogController } from 'fastify';
import type { Core } from '../../core/core.js';
import type { Credential } from '../../core/context.js';
import { wasDeclined } from '../../core/pipeline/route.js';
import { ERROR_TABLE, type ErrorCode, isKeymeshError, KeymeshError } from '../../errors.js';
import type { NodeMetrics } from '../../metrics.js';
import { readNodeGrant } from '../../enclave/crypto/attestation.js';
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from '../../config.js';
import { newRequestId } from '../../util/ids.js';
import { stderrSink } from '../../log/sink.js';
import {
  HEADER_FORWARD_REFUSED,
  HEADER_FORWARDED_BY,
  HEADER_REQUEST_ID,
  peerNodeId,
} from '../../cluster/forward.js';
import {
  decodePeerCall,
  encodePeerValue,
  MAX_PEER_BODY_BYTES,
  PEER_OPERATIONS_PATH,
} from '../../cluster/peer-channel.js';
import { errorBody, FASTIFY_CODES, STATUS } from '../http/errors.js';
import { mediaType } from '../http/body.js';
import { Connections, drainOnClose, onClientError, timeoutOptions } from '../http/edge.js';

export interface PeerServerOptions {
  core: Core;
  metrics: NodeMetrics;
  logLevel: string;
  peerTls: ServerOptions;
  limits?: HttpLimits;
}

const REQUEST_ID_RE = /^[A-Za-z0-9_-]{1,128}$/;

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

/**
 * The node a connection's client certificate proves, checked once per connection: a node's
 * certificate from the cluster CA (TLS verified the chain), CN = node id with clientAuth
 * (peerNodeId), and, as only a node certificate has, serverAuth and the region and level granted
 * to that node (keymesh cluster add-node). A plain client certificate from the CA is no node.
 */
const peers = new WeakMap<TLSSocket, string | null>();
function peerOf(socket: TLSSocket): string | undefined {
  let p = peers.get(socket);
  if (p === undefined) peers.set(socket, (p = nodeCertificate(socket) ?? null));
  return p ?? undefined;
}

function nodeCertificate(socket: TLSSocket): string | undefined {
  const id = peerNodeId(socket);
  if (id === undefined) return undefined;
  const cert = socket.getPeerCertificate() as PeerCertificate & { ext_key_usage?: string[] };
  if (!cert.ext_key_usage?.includes(SERVER_AUTH)) return undefined;
  try {
    return readNodeGrant(new X509Certificate(cert.raw))?.nodeId === id ? id : undefined;
  } catch {
    return undefined;
  }
}

export async function buildPeerServer(opts: PeerServerOptions): Promise<FastifyInstance> {
  const limits = opts.limits ?? DEFAULT_HTTP_LIMITS;
  const timeouts = timeoutOptions(limits);
  const app = Fastify({
    bodyLimit: MAX_PEER_BODY_BYTES,
    keepAliveTimeout: timeouts.keepAliveTimeout,
    requestTimeout: timeouts.requestTimeout,
    https: { ...timeouts, ...opts.peerTls },
    clientErrorHandler: onClientError,
    // The call keeps the request id it was given on the first node, so both audit logs name it.
    genReqId: (req) => {
      const h = req.headers[HEADER_REQUEST_ID];
      return typeof h === 'string' && REQUEST_ID_RE.test(h) ? h : newRequestId();
    },
    requestIdHeader: false,
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: false,
    forceCloseConnections: false,
    logger: { level: opts.logLevel, stream: stderrSink() },
  }) as unknown as FastifyInstance;
  const connections = new Connections(app.server, limits);
  drainOnClose(app, connections, limits);
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });

  // Who is calling, before anything is read: a cluster node, as its certificate says.
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    const peer = peerOf(req.socket as TLSSocket);
    const claimed = req.headers[HEADER_FORWARDED_BY];
    if (peer === undefined || (claimed !== undefined && claimed !== peer)) {
      reply.header('connection', 'close');
      throw new KeymeshError('FORBIDDEN', 'The peer channel is for cluster nodes only.');
    }
    if (closing) {
      reply.header('connection', 'close');
      throw new KeymeshError('UNAVAILABLE', 'The node is stopping.');
    }
  });
  app.addHook('onResponse', async (req, reply) => {
    opts.metrics.request(
      req.routeOptions.url ?? 'unmatched',
      req.method,
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
  });

  // JSON only, bounded (bodyLimit), parsed with Fastify's guard against prototype keys.
  app.removeAllContentTypeParsers();
  const json = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: MAX_PEER_BODY_BYTES }, (req, body, done) => {
    if (mediaType(req.headers['content-type']) !== 'application/json')
      return done(new KeymeshError('UNSUPPORTED_MEDIA_TYPE', 'A peer call is application/json.'), undefined);
    json(req, body as string, done);
  });

  // A node's liveness as its peers see it, over the same mutual TLS (no token: a node asks).
  app.get('/v1/health', async () => opts.core.health());

  app.post(PEER_OPERATIONS_PATH, async (req) => {
    const peer = peerOf(req.socket as TLSSocket)!;
    const call = decodePeerCall(req.body);
    const source = req.socket.remoteAddress;
    const cred: Credential = {
      principal: { kind: 'peer', nodeId: peer, tokenId: call.tokenId },
      requestId: req.id,
      ...(source ? { source } : {}),
    };
    const value = await opts.core.runKeyOperation(cred, call.operation, call.keyId, call.input);
    return encodePeerValue(call.operation, value);
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    // Declined before acting: the sending node may try another holder.
    if (wasDeclined(err)) reply.header(HEADER_FORWARD_REFUSED, '1');
    if (isKeymeshError(err)) {
      if (STATUS[err.code] >= 500) req.log.error({ code: err.code }, err.shortMessage);
      return reply.code(STATUS[err.code]).send(errorBody(err.code, err.shortMessage));
    }
    const code: ErrorCode =
      (err.code ? FASTIFY_CODES[err.code] : undefined) ??
      (typeof err.statusCode === 'number' && err.statusCode < 500 ? 'INVALID_REQUEST' : 'INTERNAL');
    if (code === 'INTERNAL') req.log.error({ name: err.name, code: err.code }, 'unexpected error');
    return reply.code(STATUS[code]).send(errorBody(code, ERROR_TABLE[code].message));
  });
  app.setNotFoundHandler((_req, reply) =>
    reply.code(STATUS.NOT_FOUND).send(errorBody('NOT_FOUND', 'No such route.')),
  );
  return app;
}
