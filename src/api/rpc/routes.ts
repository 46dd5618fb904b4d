// POST /rpc: the JSON-RPC 2.0 envelope (single calls, batches of up to MAX_BATCH, notifications,
// id echoing, the standard -32700/-32600/-32601/-32602 errors) around methods.ts and chain.ts.
//
// One gate for every method: once the body is parsed, and before any method is looked up, the
// request's bearer token must carry keys:sign (Core.authorizeSigner). No method can skip it, a
// method added to the table is behind it, and a caller without a token learns nothing, not even
// which methods exist. Refused for want of a valid token, the HTTP status is 401, as on every
// other route, with a JSON-RPC error per call as the body. The signing calls are authorised again
// by the core, for the key they use. Keymesh errors become JSON-RPC errors through errors.ts.
//
// The body is parsed here rather than by Fastify, so that malformed JSON is a JSON-RPC parse error
// and not the REST error body; the route lives in its own Fastify scope for that.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Credential } from '../../core/context.js';
import type { Core } from '../../core/core.js';
import { ApprovalPending } from '../../core/pipeline/outcome.js';
import { ERROR_TABLE, isKeymeshError, type ErrorCode } from '../../errors.js';
import { credential } from '../http/credential.js';
import { FASTIFY_CODES, STATUS } from '../http/errors.js';
import { REFUSED, refusal, requestChainId } from './chain.js';
import {
  envelopeError,
  INTERNAL_ERROR,
  INVALID_PARAMS,
  INVALID_REQUEST,
  METHOD_NOT_FOUND,
  PARSE_ERROR,
  rpcError,
  type RpcError,
} from './errors.js';
import { type CallContext, METHODS, type RpcApi } from './methods.js';
import { DEFAULT_CHAIN_ID } from '../../config.js';

/** Calls per batch: enough for any wallet, few enough that one request cannot queue a flood. */
export const MAX_BATCH = 100;

export interface RpcOptions {
  /** The node's --chain-id: what eth_chainId answers when the URL names no chain. Default 1. */
  chainId?: number;
}

/** The route's OpenAPI entry, from the method tables, so that the list cannot drift from them. */
const RPC_SCHEMA = {
  tags: ['ethereum'],
  summary: `JSON-RPC 2.0 remote signer (bearer token with keys:sign); batches of up to ${MAX_BATCH} calls`,
  description:
    `Methods: ${[...METHODS.keys()].join(', ')}. ` +
    'eth_chainId and net_version answer the chain named in the URL (/rpc?chainId=N, a positive ' +
    "integer), else the node's --chain-id, else 1. " +
    `Refused with error 4200 and the reason (no chain state; the caller broadcasts): ${[...REFUSED.keys()].join(', ')}.`,
} as const;

type Id = string | number | null;
/**
 * A signature waiting for an approval (core/pipeline/outcome.ts): answered as an error carrying
 * the approval id to wait on, with the code and data the contract gives (API.md, "Extensions").
 */
export const APPROVAL_PENDING = -32010;
interface PendingError {
  code: typeof APPROVAL_PENDING;
  message: string;
  data: { approvalId: string; status: 'pending' };
}
type Response = { jsonrpc: '2.0'; id: Id } & ({ result: unknown } | { error: RpcError | PendingError });

interface Outcome {
  /** Absent for notifications, which are never answered. */
  response?: Response;
  unauthenticated: boolean;
}

const errorResponse = (id: Id, error: RpcError): Response => ({ jsonrpc: '2.0', id, error });
const refused = (id: Id, code: number, message: string): Outcome => ({
  response: errorResponse(id, envelopeError(code, message)),
  unauthenticated: false,
});

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const validId = (v: unknown): v is Id =>
  v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));

/** The id a call is answered under; undefined for a notification (never answered). */
function replyId(msg: unknown): Id | undefined {
  if (!isObject(msg)) return null;
  if (!Object.hasOwn(msg, 'id')) return undefined;
  return validId(msg.id) ? msg.id : null;
}

/** The one gate: undefined when the caller may use the signer, else the error to answer with. */
async function gate(
  api: RpcApi,
  cred: Credential,
  req: FastifyRequest,
): Promise<{ error: RpcError; unauthenticated: boolean } | undefined> {
  try {
    await api.authorizeSigner(cred);
    return undefined;
  } catch (e) {
    if (isKeymeshError(e)) {
      if (STATUS[e.code] >= 500 || !ERROR_TABLE[e.code].exposeMessage)
        req.log.error({ code: e.code, rpc: 'gate' }, e.shortMessage);
      return { error: rpcError(e.code, e.shortMessage), unauthenticated: e.code === 'UNAUTHENTICATED' };
    }
    req.log.error({ err: describe(e), rpc: 'gate' }, 'unexpected error');
    return {
      error: envelopeError(INTERNAL_ERROR, `Internal error (request ${req.id}); see the node log.`),
      unauthenticated: false,
    };
  }
}

async function call(c: CallContext, msg: unknown, req: FastifyRequest): Promise<Outcome> {
  if (!isObject(msg)) return refused(null, INVALID_REQUEST, 'Invalid Request: a call must be an object');
  const notification = !Object.hasOwn(msg, 'id');
  if (!notification && !validId(msg.id))
    return refused(null, INVALID_REQUEST, 'Invalid Request: id must be a string, a number or null');
  const id: Id = notification ? null : (msg.id as Id);
  if (msg.jsonrpc !== '2.0') return refused(id, INVALID_REQUEST, 'Invalid Request: jsonrpc must be "2.0"');
  if (typeof msg.method !== 'string') return refused(id, INVALID_REQUEST, 'Invalid Request: no method');
  if (msg.params !== undefined && !isObject(msg.params) && !Array.isArray(msg.params))
    return refused(id, INVALID_REQUEST, 'Invalid Request: params must be an array or an object');

  const answer = (r: Omit<Response, 'jsonrpc' | 'id'>, unauthenticated = false): Outcome =>
    notification
      ? { unauthenticated }
      : { response: { jsonrpc: '2.0', id, ...r } as Response, unauthenticated };
  const notServed = refusal(msg.method);
  if (notServed) return answer({ error: notServed });
  const method = METHODS.get(msg.method);
  // The name is not echoed back: it is the caller's input.
  if (!method) return answer({ error: envelopeError(METHOD_NOT_FOUND, 'Method not found') });
  if (isObject(msg.params))
    return answer({
      error: envelopeError(INVALID_PARAMS, 'Invalid params: pass them by position (an array)'),
    });
  try {
    return answer({ result: await method(c, (msg.params as unknown[] | undefined) ?? []) });
  } catch (e) {
    if (e instanceof ApprovalPending)
      return answer({
        error: {
          code: APPROVAL_PENDING,
          message: 'Approval pending',
          data: { approvalId: e.outcome.approvalId, status: 'pending' },
        },
      });
    if (isKeymeshError(e)) {
      if (STATUS[e.code] >= 500 || !ERROR_TABLE[e.code].exposeMessage)
        req.log.error({ code: e.code, rpc: msg.method }, e.shortMessage);
      return answer({ error: rpcError(e.code, e.shortMessage) }, e.code === 'UNAUTHENTICATED');
    }
    req.log.error({ err: describe(e), rpc: msg.method }, 'unexpected error');
    return answer({
      error: envelopeError(INTERNAL_ERROR, `Internal error (request ${req.id}); see the node log.`),
    });
  }
}

function send(reply: FastifyReply, status: number, payload: unknown) {
  return reply
    .code(status)
    .header('content-type', 'application/json; charset=utf-8')
    .send(JSON.stringify(payload));
}

export function rpcRoutes(app: FastifyInstance, core: Core, opts: RpcOptions = {}): void {
  // In a cluster the core runs a signing call where the key is (its routing step): nothing here.
  const api: RpcApi = core;
  const nodeChainId = opts.chainId ?? DEFAULT_CHAIN_ID;
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    scope.setErrorHandler((err: FastifyError, req, reply) => {
      const code: ErrorCode = (err.code ? FASTIFY_CODES[err.code] : undefined) ?? 'INTERNAL';
      if (code === 'INTERNAL') req.log.error({ err: describe(err) }, 'unexpected error');
      // A library's message may quote the client's bytes back: the code's fixed message instead.
      return send(reply, STATUS[code], errorResponse(null, rpcError(code, ERROR_TABLE[code].message)));
    });

    scope.post('/rpc', { schema: RPC_SCHEMA }, async (req, reply) => {
      let body: unknown;
      try {
        body = JSON.parse(typeof req.body === 'string' ? req.body : '');
      } catch {
        return send(
          reply,
          200,
          errorResponse(null, envelopeError(PARSE_ERROR, 'Parse error: the body is not JSON')),
        );
      }
      const batch = Array.isArray(body);
      const calls = batch ? (body as unknown[]) : [body];
      if (batch && calls.length === 0)
        return send(
          reply,
          200,
          errorResponse(null, envelopeError(INVALID_REQUEST, 'Invalid Request: empty batch')),
        );
      if (calls.length > MAX_BATCH)
        return send(
          reply,
          200,
          errorResponse(
            null,
            envelopeError(INVALID_REQUEST, `Invalid Request: a batch holds at most ${MAX_BATCH} calls`),
          ),
        );
      const base = credential(req);
      const denied = await gate(api, base, req);
      if (denied) {
        const refusals = calls.flatMap((c) => {
          const id = replyId(c);
          return id === undefined ? [] : [errorResponse(id, denied.error)];
        });
        const status = denied.unauthenticated ? 401 : 200;
        if (refusals.length === 0) return reply.code(status === 401 ? 401 : 204).send();
        return send(reply, status, batch ? refusals : refusals[0]);
      }
      const chainId = requestChainId(req.query, nodeChainId);
      if (typeof chainId === 'string')
        return send(reply, STATUS.INVALID_REQUEST, errorResponse(null, rpcError('INVALID_REQUEST', chainId)));
      const outcomes = await Promise.all(
        calls.map((c, i) =>
          call(
            { api, chainId, cred: batch ? { ...base, requestId: `${base.requestId}-${i}` } : base },
            c,
            req,
          ),
        ),
      );
      const status = outcomes.some((o) => o.unauthenticated) ? 401 : 200;
      const responses = outcomes.flatMap((o) => (o.response ? [o.response] : []));
      if (responses.length === 0) return reply.code(status === 401 ? 401 : 204).send();
      return send(reply, status, batch ? responses : responses[0]);
    });
  });
}

/** An error's name, code and stack for the log; never request data. */
function describe(e: unknown): Record<string, unknown> | undefined {
  if (!(e instanceof Error)) return undefined;
  return { name: e.name, code: (e as { code?: unknown }).code, stack: e.stack };
}
