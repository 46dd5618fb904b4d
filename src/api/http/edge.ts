// The HTTP listener's own edge, below the routes: how many connections one client may hold, how
// long a connection may stay silent, slow or idle, what Node's HTTP parser and Fastify's router
// answer when they refuse a request themselves (the contract's error body, never the client's
// bytes), and how connections are drained when the node stops.
import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HttpLimits } from '../../config.js';
import { EDGE_ERROR, errorBody, STATUS, type EdgeErrorCode } from './errors.js';

/** How often Node checks connections against the headers and request timeouts. */
const CHECK_INTERVAL_MS = 1000;
/** How long a refused connection may linger after its error answer before it is cut. */
const LINGER_MS = 2000;

/** Node's server options that bound a connection's time (http.createServer and https alike). */
export function timeoutOptions(limits: HttpLimits) {
  return {
    keepAliveTimeout: limits.idleTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: CHECK_INTERVAL_MS,
    // Checked in onRequest instead, so that the refusal has the contract's body.
    requireHostHeader: false,
  };
}

/**
 * The address a per-client cap counts by: an IPv4 address as is (also when mapped into IPv6),
 * an IPv6 address by its /64, which one client typically holds whole.
 */
export function clientKey(address: string | undefined): string {
  if (address === undefined) return '';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (isIP(address) !== 6) return address;
  const [head = '', tail = ''] = address.split('::', 2);
  const h = head ? head.split(':') : [];
  const t = address.includes('::') && tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return (
    groups
      .slice(0, 4)
      .map((g) => parseInt(g, 16).toString(16))
      .join(':') + '::/64'
  );
}

/**
 * The listener's connections: capped in all (Node closes new ones past server.maxConnections) and
 * per client address (closed here at once, before a byte is read), so that one client cannot take
 * every file descriptor and others are still served; and which of them carry a request in flight,
 * so that a stopping node can close every other one at once (silent, slow, idle).
 */
export class Connections {
  private readonly perClient = new Map<string, number>();
  /** Every open connection, with how many of its requests are unanswered. */
  private readonly open = new Map<Socket, number>();

  constructor(
    private readonly server: Server,
    limits: HttpLimits,
  ) {
    server.maxConnections = limits.maxConnections;
    server.on('connection', (socket: Socket) => {
      const key = clientKey(socket.remoteAddress);
      const n = (this.perClient.get(key) ?? 0) + 1;
      if (n > limits.maxConnectionsPerIp) {
        socket.destroy();
        return;
      }
      this.perClient.set(key, n);
      this.open.set(socket, 0);
      socket.once('close', () => {
        this.open.delete(socket);
        const left = (this.perClient.get(key) ?? 1) - 1;
        if (left > 0) this.perClient.set(key, left);
        else this.perClient.delete(key);
      });
    });
    // Emitted as soon as a request's headers are parsed, before any route runs.
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const socket = req.socket;
      const busy = this.open.get(socket);
      if (busy === undefined) return;
      this.open.set(socket, busy + 1);
      res.once('close', () => {
        const b = this.open.get(socket);
        if (b !== undefined) this.open.set(socket, Math.max(0, b - 1));
      });
    });
  }

  /** Close every connection without a request in flight: silent, dribbling headers, or idle. */
  closeUnbusy(): void {
    for (const [socket, busy] of this.open) if (busy === 0) socket.destroy();
  }
}

/** A complete HTTP/1.1 answer with the contract's error body, for a socket no response owns. */
function rawAnswer(edge: EdgeErrorCode): string {
  const { code, message } = EDGE_ERROR[edge];
  const status = STATUS[code];
  const body = JSON.stringify(errorBody(code, message));
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
    'content-type: application/json; charset=utf-8\r\n' +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    'connection: close\r\n\r\n' +
    body
  );
}

/** Which of Node's parser errors answers what; every other one is "not valid HTTP". */
const CLIENT_ERRORS: Readonly<Record<string, EdgeErrorCode>> = Object.freeze({
  HPE_HEADER_OVERFLOW: 'HPE_HEADER_OVERFLOW',
  ERR_HTTP_REQUEST_TIMEOUT: 'ERR_HTTP_REQUEST_TIMEOUT',
});

/**
 * Node's 'clientError': the parser refused the bytes (malformed HTTP, headers over the limit) or
 * the request took too long. Answer with the contract's body, once, then close; a client that
 * does not read the answer is cut after LINGER_MS.
 */
export function onClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const pending = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || pending?.headersSent) {
    socket.destroy();
    return;
  }
  const edge =
    err.code !== undefined && Object.hasOwn(CLIENT_ERRORS, err.code)
      ? CLIENT_ERRORS[err.code]!
      : 'HTTP_PARSE_ERROR';
  socket.end(rawAnswer(edge));
  // What the client still sends is read and dropped: closing with unread bytes would reset the
  // connection and could take the answer with it.
  socket.on('data', () => undefined);
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

/** Fastify's router refusals (a bad % escape, an over-long path parameter), in the contract's shape. */
export function onFrameworkError(err: Error & { code?: string }, _req: FastifyRequest, reply: FastifyReply) {
  const edge: EdgeErrorCode =
    err.code !== undefined && Object.hasOwn(EDGE_ERROR, err.code)
      ? (err.code as EdgeErrorCode)
      : 'FST_ERR_ASYNC_CONSTRAINT';
  const { code, message } = EDGE_ERROR[edge];
  return reply.code(STATUS[code]).send(errorBody(code, message));
}

/** Node answers an unknown Expect itself with an empty 417; this one has the contract's body. */
export function onCheckExpectation(_req: IncomingMessage, res: ServerResponse): void {
  const { code, message } = EDGE_ERROR.EXPECTATION;
  const body = JSON.stringify(errorBody(code, message));
  res.writeHead(STATUS[code], {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  res.end(body);
}

/**
 * On close: no new connections; every connection without a request in flight is closed at once;
 * the requests in flight get `shutdownTimeoutMs` to finish, and whatever is still open then is
 * cut, so that a stopping node always ends.
 */
export function drainOnClose(app: FastifyInstance, connections: Connections, limits: HttpLimits): void {
  app.addHook('preClose', (done) => {
    const server = app.server;
    const timer = setTimeout(() => server.closeAllConnections(), limits.shutdownTimeoutMs);
    server.once('close', () => clearTimeout(timer));
    connections.closeUnbusy();
    done();
  });
}
