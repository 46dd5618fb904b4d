// The CLI's HTTP client: where the node is and which token to use (flag, env, or the data
// dir's admin.token), and one request function that turns error bodies into CliError.
import { existsSync, readFileSync } from 'node:fs';
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
  const base = (flags.url ?? env.KEYMESH_URL ?? `http://${env.KEYMESH_HTTP ?? '127.0.0.1:8520'}`).replace(/\/+$/, '');
  const token = resolveToken(flags, env);
  return {
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      let res: Response;
      try {
        res = await fetch(base + path, {
          method,
          headers: {
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      } catch {
        throw new CliError(`cannot reach a node at ${base}`, EXIT.unavailable, 'UNREACHABLE');
      }
      const text = await res.text();
      if (!res.ok) {
        let code = `HTTP_${res.status}`;
        let message = text.slice(0, 200);
        try {
          const e = (JSON.parse(text) as { error: { code: string; message: string } }).error;
          code = e.code;
          message = e.message;
        } catch {
          // not a Keymesh error body; keep the raw start of it
        }
        throw new CliError(message, exitFor(res.status), code);
      }
      return (text ? JSON.parse(text) : undefined) as T;
    },
  };
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
