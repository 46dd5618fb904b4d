// Starts a real Keymesh node process from the CLI (`keymesh start --dev`) for end-to-end tests,
// waits for its ready line, and offers a small HTTP client. Every started process is killed when
// the test process exits, so a failed test leaves nothing running.
import { type ChildProcess, spawn } from 'node:child_process';
import { after } from 'node:test';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (dist/test/helpers → three levels up). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const CLI = join(REPO_ROOT, 'dist/src/cli/main.js');

const live = new Set<ChildProcess>();
const dirs = new Set<string>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
// 'exit' comes only once nothing keeps the process alive, and a started node's pipes do: a file
// whose `before` failed half-way (one of three nodes never became ready) never reaches its own
// cleanup for the nodes that did start, and its test process would wait on them for ever. So under
// the test runner every node still running is killed when the file's tests are over. (Not in the
// benchmarks, which import this file outside the runner.)
if (process.env.NODE_TEST_CONTEXT !== undefined)
  after(() => {
    for (const p of live) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  });

export interface StartOptions {
  dataDir?: string;
  args?: string[];
  env?: Record<string, string>;
  /** Start with --dev (the default). Without it, give `--unseal-passphrase-file` in args. */
  dev?: boolean;
}

export interface TestNode {
  dataDir: string;
  url: string;
  nodeId: string;
  adminToken: string;
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** SIGTERM, resolve with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  kill9(): Promise<void>;
  api<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    token?: string | null,
  ): Promise<ApiResponse<T>>;
}

export interface ApiResponse<T> {
  status: number;
  body: T;
  headers: Headers;
}

/** A fresh temporary directory, removed when the test process exits (or earlier by `removeDir`). */
export function tempDir(prefix = 'keymesh-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(d);
  return d;
}

export function removeDir(d: string): void {
  rmSync(d, { recursive: true, force: true });
  dirs.delete(d);
}

export async function startNode(opts: StartOptions = {}): Promise<TestNode> {
  const dataDir = opts.dataDir ?? tempDir();
  const args = [
    CLI,
    'start',
    ...(opts.dev === false ? [] : ['--dev']),
    '--data-dir',
    dataDir,
    '--http',
    '127.0.0.1:0',
    ...(opts.args ?? []),
  ];
  const proc = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, KEYMESH_LOG_LEVEL: 'info', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((res) =>
    proc.on('exit', (code) => {
      live.delete(proc);
      res(code);
    }),
  );

  const ready = await new Promise<RegExpExecArray>((res, rej) => {
    const timer = setTimeout(
      () => rej(new Error(`node did not become ready in 30 s\n${out}\n${err}`)),
      30_000,
    );
    const check = () => {
      const m = /^keymesh ready http=(\S+) kmip=(\S+) node=(\S+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        res(m);
      }
    };
    proc.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`node exited with ${code} before ready\n${out}\n${err}`));
    });
  });
  const url = `http://${ready[1]}`;
  // In a cluster only the node that bootstrapped it has the admin token file.
  const tokenFile = join(dataDir, 'admin.token');
  const adminToken = existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : '';

  const node: TestNode = {
    dataDir,
    url,
    nodeId: ready[3]!,
    adminToken,
    proc,
    stdout: () => out,
    stderr: () => err,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null) return proc.exitCode;
      proc.kill(signal);
      return exited;
    },
    async kill9() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
    },
    api: (method, path, body, token) =>
      api(url, method, path, body, token === undefined ? adminToken : token),
  };
  return node;
}

export async function api<T>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string | null,
): Promise<ApiResponse<T>> {
  const res = await fetch(base + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON (metrics, docs): keep the text
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/**
 * Run the CLI to completion. `timeoutMs` bounds a command that might not end (a `start` expected
 * to refuse): past it the process is killed and `timedOut` is set, so the test fails, not hangs.
 */
export function runCli(
  args: string[],
  opts: { env?: Record<string, string>; input?: string | Buffer; timeoutMs?: number; cwd?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [CLI, ...args], {
      cwd: opts.cwd ?? REPO_ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    live.add(p);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            p.kill('SIGKILL');
          }, opts.timeoutMs);
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.stdin.on('error', () => undefined); // a command that exits before reading stdin
    p.stdin.end(opts.input ?? '');
    p.on('exit', (code) => {
      live.delete(p);
      if (timer) clearTimeout(timer);
      res({ code, stdout, stderr, timedOut });
    });
  });
}

/** Poll `check` until it returns a value other than undefined/false; fail after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
