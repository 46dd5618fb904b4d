// Raw TCP clients for the HTTP edge tests: bytes no HTTP library would send (malformed requests,
// dribbled headers, silent connections), many sockets from a chosen local address, and a parser
// for whatever the node answers before it closes.
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  /** Everything the node sent before the connection closed. */
  raw: Buffer;
  status: number | undefined;
  headers: Record<string, string>;
  body: string;
  /** The client's socket error, if any (ECONNRESET, EPIPE). */
  error: string | undefined;
}

/** Split one HTTP/1.1 response (the first in `raw`) into status, headers and body. */
export function parseAnswer(raw: Buffer, error?: string): RawAnswer {
  const text = raw.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const head = end < 0 ? text : text.slice(0, end);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let body =
    end < 0 ? '' : raw.subarray(Buffer.byteLength(text.slice(0, end + 4), 'latin1')).toString('utf8');
  const len = headers['content-length'];
  if (len !== undefined) body = body.slice(0, Number(len));
  return { raw, status: m ? Number(m[1]) : undefined, headers, body, error };
}

/** The node's address as host and port. */
export function hostPort(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
}

/**
 * Send `bytes` on a new connection and collect what comes back until the node closes it (the
 * requests here ask for `connection: close`, or are ones the node must close itself).
 */
export function rawRequest(url: string, bytes: Buffer | string, localAddress?: string): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const s = connect({ ...hostPort(url), ...(localAddress ? { localAddress } : {}) });
    const chunks: Buffer[] = [];
    let error: string | undefined;
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    s.on('close', () => resolve(parseAnswer(Buffer.concat(chunks), error)));
    s.on('connect', () => s.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes));
  });
}

/** A socket whose closing is observed: `closed` resolves with what the node sent before it closed. */
export interface Watched {
  socket: Socket;
  isClosed(): boolean;
  closed: Promise<RawAnswer>;
  /** Resolves once the socket has connected or closed, whichever comes first. */
  settled: Promise<void>;
}

export function watchedSocket(url: string, localAddress?: string): Watched {
  const socket = connect({ ...hostPort(url), ...(localAddress ? { localAddress } : {}) });
  const chunks: Buffer[] = [];
  let error: string | undefined;
  let isClosed = false;
  socket.on('data', (d: Buffer) => chunks.push(d));
  socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
  const closed = new Promise<RawAnswer>((resolve) =>
    socket.on('close', () => {
      isClosed = true;
      resolve(parseAnswer(Buffer.concat(chunks), error));
    }),
  );
  const settled = new Promise<void>((resolve) => {
    socket.once('connect', () => resolve());
    socket.once('close', () => resolve());
  });
  return { socket, isClosed: () => isClosed, closed, settled };
}

/** Write one byte of `text` every `everyMs` until the socket closes (a slowloris client). */
export function dribble(w: Watched, text: string, everyMs: number): void {
  let i = 0;
  const t = setInterval(() => {
    if (w.isClosed() || !w.socket.writable) return clearInterval(t);
    w.socket.write(text[i % text.length]!);
    i++;
  }, everyMs);
  void w.closed.then(() => clearInterval(t));
}

/** Race `p` against a deadline, so that a test fails instead of hanging. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, rej) => {
      timer = setTimeout(() => rej(new Error(`timed out: ${what}`)), ms);
    }),
  ]);
}

/** A POST whose headers go now and whose body waits for send(); `continued` resolves on "100 Continue". */
export function heldRequest(url: string, token: string, path: string, body: unknown) {
  const payload = Buffer.from(JSON.stringify(body));
  const u = new URL(url + path);
  const req = request({
    host: u.hostname,
    port: u.port,
    path: u.pathname,
    method: 'POST',
    agent: false,
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'content-length': payload.length,
      expect: '100-continue',
    },
  });
  const continued = new Promise<void>((res) => req.once('continue', () => res()));
  const response = new Promise<{ status: number; text: string } | { error: string }>((res) => {
    req.on('error', (e: NodeJS.ErrnoException) => res({ error: e.code ?? e.message }));
    req.on('response', (r) => {
      let text = '';
      r.on('data', (d: Buffer) => (text += d.toString()));
      r.on('end', () => res({ status: r.statusCode ?? 0, text }));
    });
  });
  req.flushHeaders();
  return { continued, response, send: () => req.end(payload) };
}
