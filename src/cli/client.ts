// The CLI's HTTP client: where the node is and which token to use (flag, env, or the data
// dir's admin.token), and one request function that turns error bodies into CliError.
import { existsSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { join, resolve } from 'node:path';

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

/** Exit codes scripts can rely on. */
export const EXIT = { error: 1, usage: 2, auth: 3, notFound: 4, conflict: 5, unavailable: 6 } as const;

function exitFor(status: number): number {
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
        throw new CliError(message, exitFor(status), code);
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

function resolveToken(flags: ClientFlags, env: NodeJS.ProcessEnv): string | undefined {
  if (flags.token) return flags.token;
  const file = flags['token-file'] ?? env.KEYMESH_TOKEN_FILE;
  if (file) return readFileSync(file, 'utf8').trim();
  if (env.KEYMESH_TOKEN) return env.KEYMESH_TOKEN;
  const dir = resolve(flags['data-dir'] ?? env.KEYMESH_DATA_DIR ?? './.keymesh');
  const admin = join(dir, 'admin.token');
  return existsSync(admin) ? readFileSync(admin, 'utf8').trim() : undefined;
}
