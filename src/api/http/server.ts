// The HTTP interface: Fastify with a schema on every route, errors translated by code through one
// table (errors.ts), request logs without bodies or credentials, metrics per route template. What
// happens below the routes (connections, timeouts, the parser's refusals) is edge.ts; the rules
// every request body meets before a route sees it are body.ts.
import Fastify, { type FastifyError, type FastifyInstance, LogController } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Core } from '../../core/core.js';
import { ERROR_TABLE, type ErrorCode, isKeymeshError } from '../../errors.js';
import type { NodeMetrics } from '../../metrics.js';
import { newRequestId } from '../../util/ids.js';
import { rpcRoutes, type RpcOptions } from '../rpc/routes.js';
import { EDGE_ERROR, errorBody, FASTIFY_CODES, openApiErrors, STATUS } from './errors.js';
import { BODY_LIMIT, bodyRules } from './body.js';
import {
  Connections,
  drainOnClose,
  onCheckExpectation,
  onClientError,
  onFrameworkError,
  timeoutOptions,
} from './edge.js';
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from '../../config.js';
import { traceOf } from './credential.js';
import { ApprovalPending } from '../../core/pipeline/outcome.js';
import { OPERATIONS, type OperationName } from '../../core/operations/table.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The core operation the route runs (its row of the operations table). */
    operation?: OperationName;
  }
}
import { auditRoutes } from './routes/audit.js';
import { clusterRoutes } from './routes/cluster.js';
import { chainRoutes } from './routes/chains.js';
import { keyRoutes } from './routes/keys.js';
import { systemRoutes } from './routes/system.js';
import { tokenRoutes } from './routes/tokens.js';
import { sharedSchemas } from './schemas.js';
import { stderrSink } from '../../log/sink.js';

export interface HttpOptions {
  core: Core;
  metrics: NodeMetrics;
  version: string;
  logLevel: string;
  tls?: { cert: Buffer; key: Buffer };
  /** Cluster mode: key-using calls report the node that ran them (registerClusterHooks). */
  cluster?: boolean;
  /** The JSON-RPC signer's settings (--chain-id). */
  rpc?: RpcOptions;
  /** Connection caps and timeouts (src/config.ts); the defaults when absent. */
  limits?: HttpLimits;
}

/**
 * The document's description: what any route may answer below its own schema (the HTTP edge's
 * refusals, derived from EDGE_ERROR and STATUS, so the list cannot drift from what is sent).
 */
function openApiDescription(): string {
  const rows = new Set(Object.values(EDGE_ERROR).map(({ code }) => `${STATUS[code]} ${code}`));
  return [
    'Distributed key management for wallets.',
    '',
    'Extensions of the Keymesh API contract: any route may also answer, from the HTTP edge before the route runs,',
    ...[...rows].sort().map((k) => `- ${k}`),
    `- ${STATUS.UNAVAILABLE} UNAVAILABLE when the node is stopping or a work pool is full (retry later).`,
    'Connections are capped in all and per client address; past a cap a new connection is closed at once.',
  ].join('\n');
}

/** The header that names the node that ran a key-using call (in cluster mode). */
export const HEADER_NODE = 'x-keymesh-node';

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** What the body rules (body.ts) may refuse on any route that takes a body. */
const bodyRefusals = () => openApiErrors('PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE');

export async function buildHttpServer(opts: HttpOptions): Promise<FastifyInstance> {
  const limits = opts.limits ?? DEFAULT_HTTP_LIMITS;
  const timeouts = timeoutOptions(limits);
  const app = Fastify({
    bodyLimit: BODY_LIMIT,
    keepAliveTimeout: timeouts.keepAliveTimeout,
    requestTimeout: timeouts.requestTimeout,
    http: timeouts,
    clientErrorHandler: onClientError,
    frameworkErrors: onFrameworkError,
    genReqId: () => newRequestId(),
    requestIdHeader: false,
    // Per-request lines are ours (onResponse, at debug), without bodies or headers.
    logController: new LogController({ disableRequestLogging: true }),
    // Our own 503 (below) has the contract's error body; Fastify's has not.
    return503OnClosing: false,
    forceCloseConnections: false,
    ...(opts.tls ? { https: { ...timeouts, cert: opts.tls.cert, key: opts.tls.key } } : {}),
    logger: {
      level: opts.logLevel,
      redact: {
        paths: [
          'req.headers.authorization',
          'headers.authorization',
          '*.privateKey',
          '*.token',
          '*.mnemonic',
          '*.passphrase',
        ],
        censor: '[redacted]',
      },
      // Logs go to stderr; stdout carries only the ready line.
      stream: stderrSink(),
    },
    // No coercion: a number where a string belongs is a client error, not a string to be.
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false, allowUnionTypes: true },
    },
  }) as unknown as FastifyInstance;

  const connections = new Connections(app.server, limits);
  app.server.on('checkExpectation', onCheckExpectation);
  drainOnClose(app, connections, limits);
  bodyRules(app);

  for (const s of sharedSchemas) app.addSchema(s);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Keymesh',
        version: opts.version,
        description: openApiDescription(),
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    refResolver: { buildLocalReference: (json, _base, _frag, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  // Schema failures are handed to the core with the credential, so that authentication and
  // authorisation answer first (401/403 before 400) and the refusal is audited with its caller.
  app.addHook('onRoute', (route) => {
    route.attachValidation = true;
    // Every route that takes a body can be refused by the body rules (body.ts): say so in the
    // OpenAPI document too.
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const response = route.schema?.response as Record<string, unknown> | undefined;
    if (response && methods.some((m) => BODY_METHODS.has(m)))
      for (const [status, r] of Object.entries(bodyRefusals())) response[status] ??= r;
    // What the route's operation can answer, from the operations table (core/operations/table.ts):
    // a key-using call's 503 NO_LIVE_REPLICA, say, is declared because the table says so.
    const op = route.config?.operation;
    if (response && op !== undefined)
      for (const [status, r] of Object.entries(openApiErrors(...OPERATIONS[op].errors)))
        response[status] ??= r;
  });
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    if (req.raw.httpVersion === '1.1' && req.headers.host === undefined) {
      const { code, message } = EDGE_ERROR.NO_HOST;
      return reply.code(STATUS[code]).send(errorBody(code, message));
    }
    if (closing) {
      reply.header('connection', 'close');
      return reply.code(STATUS.UNAVAILABLE).send(errorBody('UNAVAILABLE', 'The node is stopping.'));
    }
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    opts.metrics.request(route, req.method, reply.statusCode, reply.elapsedTime / 1000);
    req.log.debug({ route, status: reply.statusCode, ms: reply.elapsedTime }, 'request');
  });

  // Where a key-using call ran is the core's answer (Credential.trace), sent back as a header.
  // Cluster nodes only: a standalone node pays for no hook on its signing path. Calls from peers
  // arrive on the peer listener (src/api/peer/server.ts), never here.
  if (opts.cluster) registerClusterHooks(app);

  app.setErrorHandler((err: FastifyError, req, reply) => {
    // Not a failure: the signature waits for an approval (pipeline/outcome.ts).
    if ((err as unknown) instanceof ApprovalPending) {
      const { approvalId, operation, keyId } = (err as unknown as ApprovalPending).outcome;
      // The contract's approval object (API.md): its id and status; the approval's other fields
      // (required, approvedBy, expiresAt, the decoded request) come with the approvals themselves.
      return reply.code(202).send({ id: approvalId, status: 'pending', operation, keyId });
    }
    if (isKeymeshError(err)) {
      // What the caller is not shown (ERROR_TABLE exposeMessage) is in the log.
      if (STATUS[err.code] >= 500 || !ERROR_TABLE[err.code].exposeMessage)
        req.log.error({ code: err.code, cause: describe(err.cause) }, err.shortMessage);
      return reply.code(STATUS[err.code]).send(errorBody(err.code, err.shortMessage));
    }
    const edge =
      err.code !== undefined && Object.hasOwn(EDGE_ERROR, err.code)
        ? EDGE_ERROR[err.code as keyof typeof EDGE_ERROR]
        : undefined;
    if (edge) return reply.code(STATUS[edge.code]).send(errorBody(edge.code, edge.message));
    const code: ErrorCode | undefined =
      (err.code ? FASTIFY_CODES[err.code] : undefined) ?? (err.validation ? 'INVALID_REQUEST' : undefined);
    // A library's message may quote the client's bytes back: the code's fixed message instead.
    if (code) return reply.code(STATUS[code]).send(errorBody(code, ERROR_TABLE[code].message));
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500)
      return reply
        .code(STATUS.INVALID_REQUEST)
        .send(errorBody('INVALID_REQUEST', 'The request is malformed.'));
    req.log.error({ err: describe(err) }, 'unexpected error');
    return reply.code(STATUS.INTERNAL).send(errorBody('INTERNAL', ERROR_TABLE.INTERNAL.message));
  });
  app.setNotFoundHandler((_req, reply) =>
    reply.code(STATUS.NOT_FOUND).send(errorBody('NOT_FOUND', 'No such route.')),
  );

  systemRoutes(app, opts.core, opts.metrics);
  keyRoutes(app, opts.core);
  tokenRoutes(app, opts.core);
  auditRoutes(app, opts.core);
  chainRoutes(app, opts.core);
  rpcRoutes(app, opts.core, opts.rpc);
  clusterRoutes(app, opts.core);
  return app;
}

function registerClusterHooks(app: FastifyInstance): void {
  app.addHook('onSend', async (req, reply, payload) => {
    const node = traceOf(req)?.executedBy;
    if (node !== undefined) reply.header(HEADER_NODE, node);
    return payload;
  });
}

/** An error's name, code and stack for the log; never request data. */
function describe(e: unknown): Record<string, unknown> | undefined {
  if (!(e instanceof Error)) return undefined;
  return { name: e.name, code: (e as { code?: unknown }).code, stack: e.stack };
}
