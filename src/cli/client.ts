// The CLI's HTTP client: where the node is and which token to use (flag, env, or the data
// dir's admin.token), and one request function that turns error bodies into CliError.
import { existsSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { join, resolve } from 'node:path';
import { ERROR_TABLE, EXIT } from '../error-table.js';
import type { ErrorCode } from '../errors.js';

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly code = 'ERROR',
  ) {
    super(message);
  }
}

export interface ClientFlags {
  url?: string;
  token?: string;
  'token-file'?: string;
  'data-dir'?: string;
}

export interface Client {
  request<T>(method: string, path: string, body?: unknown): Promise<T>;
}

/** Exit codes scripts can rely on: per error code, from the error table (src/error-table.ts). */
export { EXIT };

/**
 * The exit code for an error answer: the table's for a Keymesh error code; by status only for an
 * answer without one (a proxy's, or a node too old to name a code the table knows).
 */
export function exitFor(status: number, code?: string): number {
  if (code !== undefined && Object.hasOwn(ERROR_TABLE, code)) return ERROR_TABLE[code as ErrorCode].exit;
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404) return EXIT.notFound;
  if (status === 409) return EXIT.conflict;
  if (status === 400 || status === 413) return EXIT.usage;
  if (status >= 500) return EXIT.unavailable;
  return EXIT.error;
}

export function makeClient(flags: ClientFlags, env: NodeJS.ProcessEnv = process.env): Client {
  const base = (flags.url ?? env.KEYMESH_URL ?? `http://${env.KEYMESH_HTTP ?? '127.0.0.1:8520'}`).replace(
    /\/+$/,
    '',
  );
  let parsed: URL | undefined;
  try {
    parsed = new URL(base);
  } catch {
    // reported below
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:'))
    throw new CliError(`--url must be an http:// or https:// URL, got ${base}`, EXIT.usage, 'USAGE');
  const token = resolveToken(flags, env);
  return {
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      let res: { status: number; text: string };
      try {
        res = await send(
          new URL(base + path),
          method,
          token,
          body === undefined ? undefined : JSON.stringify(body),
        );
      } catch {
        throw new CliError(`cannot reach a node at ${base}`, EXIT.unavailable, 'UNREACHABLE');
      }
      const { status, text } = res;
      if (status < 200 || status > 299) {
        let code = `HTTP_${status}`;
        let message = text.slice(0, 200);
        try {
          const e = (JSON.parse(text) as { error: { code: string; message: string } }).error;
          code = e.code;
          message = e.message;
        } catch {
          // not a Keymesh error body; keep the raw start of it
        }
        throw new CliError(message, exitFor(status, code), code);
      }
      return (text ? JSON.parse(text) : undefined) as T;
    },
  };
}

/**
 * One request on its own connection (node:http, not fetch): a CLI command makes one or two
 * requests, and fetch's pooled keep-alive socket held every command's exit back by ~0.1 s on
 * top of loading undici.
 */
function send(
  url: URL,
  method: string,
  token: string | undefined,
  body: string | undefined,
): Promise<{ status: number; text: string }> {
  const headers: Record<string, string | number> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(body);
  }
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise((resolvePromise, reject) => {
    const req = mod.request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolvePromise({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * The token, first found of: --token, --token-file, KEYMESH_TOKEN, KEYMESH_TOKEN_FILE, and last
 * DIR/admin.token. A source that is given but empty is an error, never a reason to fall through:
 * `KEYMESH_TOKEN= keymesh keys destroy ID` must not quietly run with the admin token.
 */
function resolveToken(flags: ClientFlags, env: NodeJS.ProcessEnv): string {
  if (flags.token !== undefined) return nonEmpty(flags.token, '--token is empty');
  if (flags['token-file'] !== undefined) return readTokenFile(flags['token-file'], '--token-file');
  if (env.KEYMESH_TOKEN !== undefined)
    return nonEmpty(env.KEYMESH_TOKEN, 'KEYMESH_TOKEN is set but empty (unset it, or give a token)');
  if (env.KEYMESH_TOKEN_FILE !== undefined)
    return readTokenFile(env.KEYMESH_TOKEN_FILE, 'KEYMESH_TOKEN_FILE');
  const dir = resolve(flags['data-dir'] ?? env.KEYMESH_DATA_DIR ?? './.keymesh');
  const admin = join(dir, 'admin.token');
  if (!existsSync(admin))
    throw new CliError(
      `no token: give --token, --token-file, KEYMESH_TOKEN or KEYMESH_TOKEN_FILE (there is no ${admin})`,
      EXIT.auth,
      'UNAUTHENTICATED',
    );
  return readTokenFile(admin, 'the admin token');
}

function nonEmpty(token: string, message: string): string {
  const t = token.trim();
  if (!t) throw new CliError(message, EXIT.usage, 'USAGE');
  return t;
}

function readTokenFile(file: string, source: string): string {
  if (!file) throw new CliError(`${source} names no file`, EXIT.usage, 'USAGE');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new CliError(`cannot read the token file ${resolve(file)} (${source}): ${why}`, EXIT.error);
  }
  const t = text.trim();
  if (!t) throw new CliError(`the token file ${resolve(file)} (${source}) is empty`, EXIT.usage, 'USAGE');
  return t;
}
