// The HTTP interface: Fastify with a schema on every route, errors translated by code through one
// table (errors.ts), request logs without bodies or credentials, metrics per route template.
import Fastify, { type FastifyError, type FastifyInstance, LogController } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Core } from '../../core/core.js';
import { type ErrorCode, isKeymeshError } from '../../errors.js';
import type { NodeMetrics } from '../../metrics.js';
import { newRequestId } from '../../util/ids.js';
import { errorBody, FASTIFY_CODES, STATUS } from './errors.js';
import { rpcRoutes } from '../rpc/routes.js';
import { auditRoutes } from './routes/audit.js';
import { chainRoutes } from './routes/chains.js';
import { keyRoutes } from './routes/keys.js';
import { systemRoutes } from './routes/system.js';
import { tokenRoutes } from './routes/tokens.js';
import { sharedSchemas } from './schemas.js';

export const BODY_LIMIT = 1024 * 1024;

export interface HttpOptions {
  core: Core;
  metrics: NodeMetrics;
  version: string;
  logLevel: string;
  tls?: { cert: Buffer; key: Buffer };
}

/** Fixed messages where the library's own would quote the client's bytes back. */
const FIXED_MESSAGES: Partial<Record<ErrorCode, string>> = {
  MALFORMED_JSON: 'The request body is not valid JSON.',
  PAYLOAD_TOO_LARGE: `The request body is larger than ${BODY_LIMIT} bytes.`,
};

export async function buildHttpServer(opts: HttpOptions): Promise<FastifyInstance> {
  const app = Fastify({
    bodyLimit: BODY_LIMIT,
    genReqId: () => newRequestId(),
    requestIdHeader: false,
    // Per-request lines are ours (onResponse, at debug), without bodies or headers.
    logController: new LogController({ disableRequestLogging: true }),
    // Our own 503 (below) has the contract's error body; Fastify's has not.
    return503OnClosing: false,
    forceCloseConnections: false,
    ...(opts.tls ? { https: { cert: opts.tls.cert, key: opts.tls.key } } : {}),
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
      stream: process.stderr,
    },
    // No coercion: a number where a string belongs is a client error, not a string to be.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  }) as unknown as FastifyInstance;

  // Clients (curl -d among them) often omit or misstate the content type: every body is JSON.
  app.addContentTypeParser('*', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));

  for (const s of sharedSchemas) app.addSchema(s);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Keymesh',
        version: opts.version,
        description: 'Distributed key management for wallets.',
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
  });
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    if (closing) {
      reply.header('connection', 'close');
      return reply.code(503).send(errorBody('UNAVAILABLE', 'The node is stopping.'));
    }
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    opts.metrics.request(route, req.method, reply.statusCode, reply.elapsedTime / 1000);
    req.log.debug({ route, status: reply.statusCode, ms: reply.elapsedTime }, 'request');
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (isKeymeshError(err)) {
      if (STATUS[err.code] >= 500)
        req.log.error({ code: err.code, cause: describe(err.cause) }, err.shortMessage);
      return reply.code(STATUS[err.code]).send(errorBody(err.code, err.shortMessage));
    }
    const code: ErrorCode | undefined =
      (err.code ? FASTIFY_CODES[err.code] : undefined) ?? (err.validation ? 'INVALID_REQUEST' : undefined);
    if (code) return reply.code(STATUS[code]).send(errorBody(code, FIXED_MESSAGES[code] ?? err.message));
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500)
      return reply.code(400).send(errorBody('INVALID_REQUEST', 'The request is malformed.'));
    req.log.error({ err: describe(err) }, 'unexpected error');
    return reply
      .code(500)
      .send(errorBody('INTERNAL', `Internal error (request ${req.id}); see the node log.`));
  });
  app.setNotFoundHandler((_req, reply) => reply.code(404).send(errorBody('NOT_FOUND', 'No such route.')));

  systemRoutes(app, opts.core, opts.metrics);
  keyRoutes(app, opts.core);
  tokenRoutes(app, opts.core);
  auditRoutes(app, opts.core);
  chainRoutes(app, opts.core);
  rpcRoutes(app, opts.core);
  return app;
}

/** An error's name, code and stack for the log; never request data. */
function describe(e: unknown): Record<string, unknown> | undefined {
  if (!(e instanceof Error)) return undefined;
  return { name: e.name, code: (e as { code?: unknown }).code, stack: e.stack };
}
