// Request bodies at the edge, before any route sees them: JSON only (by content type), valid UTF-8
// only, at most BODY_LIMIT bytes. A refused body is still read, up to DRAIN_LIMIT, before the
// answer goes out: fetch() clients (undici: ethers, viem) that are still sending when the server
// answers and closes see a broken pipe instead of the 413 or 415. Past DRAIN_LIMIT the connection
// is closed after the answer rather than read any further.
import { Readable, Transform, type TransformCallback } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { EDGE_ERROR, STATUS } from './errors.js';

export const BODY_LIMIT = 1024 * 1024;
/** How much of a refused body is read (and dropped) so that the client can read the answer. */
export const DRAIN_LIMIT = 16 * 1024 * 1024;

/** A media type is JSON when it is application/json or a structured-syntax `+json` type. */
const JSON_MEDIA_TYPE = /^application\/(?:[a-z0-9!#$&^_.-]+\+)?json$/;

/**
 * An error Fastify hands to the error handlers (ours and the JSON-RPC scope's) by its code; its
 * status is the error table's for the Keymesh code the edge code stands for.
 */
class EdgeError extends Error {
  readonly statusCode: number;
  constructor(readonly code: keyof typeof EDGE_ERROR) {
    super(code);
    this.statusCode = STATUS[EDGE_ERROR[code].code];
  }
}
const tooLarge = () => new EdgeError('KM_ERR_BODY_TOO_LARGE');

/**
 * Whether the request announces a body: a Content-Length above zero or any Transfer-Encoding. A
 * request with neither has none, whatever its method and content type.
 */
function announcesBody(req: FastifyRequest): boolean {
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) return true;
  const cl = req.headers['content-length'];
  return cl !== undefined && cl !== '0';
}

/** The media type of a Content-Type header, lower-cased, without parameters; '' when absent. */
export function mediaType(header: string | undefined): string {
  if (header === undefined) return '';
  return header.split(';', 1)[0]!.trim().toLowerCase();
}

/**
 * Read and drop what is left of a body, up to DRAIN_LIMIT bytes in all. Resolves with the number
 * of bytes read, or undefined when the body was longer (the caller then closes the connection).
 */
function drain(payload: NodeJS.ReadableStream, already = 0): Promise<number | undefined> {
  return new Promise((resolve) => {
    let seen = already;
    const done = (v: number | undefined) => {
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onError);
      resolve(v);
    };
    const onData = (c: Buffer | string) => {
      seen += c.length;
      if (seen > DRAIN_LIMIT) {
        payload.pause();
        done(undefined);
      }
    };
    const onEnd = () => done(seen);
    const onError = () => done(undefined);
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
    payload.resume();
  });
}

/**
 * The body as the parser sees it: passed through while it is under BODY_LIMIT and valid UTF-8;
 * past the limit the rest is read and dropped (to DRAIN_LIMIT) and the stream then fails with 413.
 * The limit check here sees every byte, so Fastify's own (which would answer at once) never trips.
 */
class BoundedBody extends Transform {
  private seen = 0;
  private over = false;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

  constructor(private readonly reply: FastifyReply) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > DRAIN_LIMIT) {
      this.reply.header('connection', 'close');
      return cb(tooLarge());
    }
    if (this.over || this.seen > BODY_LIMIT) {
      this.over = true;
      return cb(); // dropped: the answer will be 413 once the body has ended
    }
    try {
      this.utf8.decode(chunk, { stream: true });
    } catch {
      return cb(new EdgeError('KM_ERR_BODY_INVALID_UTF8'));
    }
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.over) return cb(tooLarge());
    try {
      this.utf8.decode(); // a multi-byte sequence cut off at the end
    } catch {
      return cb(new EdgeError('KM_ERR_BODY_INVALID_UTF8'));
    }
    cb();
  }
}

/**
 * Install the body rules on `app` (and every scope in it, the JSON-RPC one included: hooks are
 * inherited). Routes then see a parsed JSON value, or undefined for an empty body.
 */
export function bodyRules(app: FastifyInstance): void {
  app.addHook('preParsing', async (req, reply, payload) => {
    if (!announcesBody(req)) return payload;
    const declared = Number(req.headers['content-length']);
    const type = mediaType(req.headers['content-type']);
    // No content type is taken as JSON: the contract refuses a body of another type, and some
    // clients send none. Anything else (text/plain, forms, multipart) is refused unparsed.
    const isJson = type === '' || JSON_MEDIA_TYPE.test(type);
    if (declared > DRAIN_LIMIT) {
      reply.header('connection', 'close');
      throw isJson ? tooLarge() : new EdgeError('KM_ERR_UNSUPPORTED_MEDIA_TYPE');
    }
    if (!isJson || declared > BODY_LIMIT) {
      const read = await drain(payload);
      if (read === undefined) reply.header('connection', 'close');
      // A DELETE (or any call) with a content type and an empty body has no body to refuse.
      if (read === 0) return Readable.from([]);
      throw isJson ? tooLarge() : new EdgeError('KM_ERR_UNSUPPORTED_MEDIA_TYPE');
    }
    const bounded = new BoundedBody(reply);
    payload.on('error', (e) => bounded.destroy(e));
    return payload.pipe(bounded);
  });

  // Every route's body is JSON (the hook above refused every other type): one parser for all,
  // with Fastify's own guard against __proto__ and constructor.prototype keys.
  app.removeAllContentTypeParsers();
  const json = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (req, body, done) => {
    const buf = body as Buffer;
    // Empty: a DELETE or another call without a body; a route that needs one fails its schema.
    if (buf.length === 0) return done(null, undefined);
    json(req, buf.toString('utf8'), done);
  });
}
