// Real etcd processes for tests: one member or a real Raft cluster on free loopback ports, each
// member with its own temp data dir, plus kill -9 / restart of a member. Nothing is left behind:
// `stop()` kills and removes everything, a process 'exit' / SIGINT / SIGTERM hook does the same if
// a test fails first, and a detached watchdog shell does it if the test process itself is killed.
//
// The binary is $KEYMESH_ETCD_BIN, /usr/bin/etcd, or `etcd` on PATH (Debian: apt-get install
// etcd-server). Timings are tightened for tests (50 ms heartbeat, 500 ms election timeout), and
// --max-request-bytes is raised to 10 MiB because the Store accepts 4 MiB values and 8 MiB txns.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { makeTempDir, type TempDir } from './tmp.js';

export interface EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  readonly logPath: string;
  /** The running process, undefined while killed. */
  proc: ChildProcess | undefined;
}

export interface EtcdCluster {
  /** Client URLs of every member (http://127.0.0.1:PORT). */
  readonly endpoints: string[];
  readonly members: EtcdMember[];
  /** kill -9 member i and wait until it has exited. */
  kill(i: number): Promise<void>;
  /** Start member i again on its data dir and ports; waits until it reports healthy. */
  restart(i: number): Promise<void>;
  /** Waits until every running member answers /health with true. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Index of the current Raft leader, as a running member reports it (undefined if none). */
  leader(): Promise<number | undefined>;
  /** Kills every member and removes the data dirs. Idempotent. */
  stop(): Promise<void>;
}

export function etcdBinary(): string {
  const env = process.env.KEYMESH_ETCD_BIN;
  if (env) return env;
  if (existsSync('/usr/bin/etcd')) return '/usr/bin/etcd';
  const r = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' });
  const found = r.stdout.trim();
  if (r.status === 0 && found) return found;
  throw new Error('etcd not found: install etcd-server or set KEYMESH_ETCD_BIN');
}

/** Whether an etcd binary is available (for skipping tests where it cannot be). */
export function haveEtcd(): boolean {
  try {
    etcdBinary();
    return true;
  } catch {
    return false;
  }
}

// ---- process bookkeeping ------------------------------------------------------------------

const running = new Set<ChildProcess>();
let hooked = false;

function killAllSync(): void {
  for (const p of running) {
    try {
      p.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', killAllSync);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killAllSync();
      process.kill(process.pid, sig); // our handler is gone now: die of the signal as before
    });
  }
}

/** Watchdog: when the test process dies, however it dies, kill the pids in `pidFile` and remove `dir`. */
function startWatchdog(pidFile: string, dir: string): void {
  const script =
    'while kill -0 "$1" 2>/dev/null; do sleep 1; done; ' +
    '[ -f "$2" ] && kill -9 $(cat "$2") 2>/dev/null; rm -rf "$3"';
  const w = spawn('sh', ['-c', script, 'keymesh-etcd-watchdog', String(process.pid), pidFile, dir], {
    detached: true,
    stdio: 'ignore',
  });
  w.unref();
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function healthy(clientUrl: string): Promise<boolean> {
  try {
    const res = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { health?: string };
    return res.ok && body.health === 'true';
  } catch {
    return false;
  }
}

/** Member id and its view of the leader id, from etcd's JSON gateway (decimal strings). */
async function status(clientUrl: string): Promise<{ memberId: string; leader: string } | undefined> {
  try {
    const res = await fetch(`${clientUrl}/v3/maintenance/status`, {
      method: 'POST',
      body: '{}',
      signal: AbortSignal.timeout(1000),
    });
    const body = (await res.json()) as { header?: { member_id?: string }; leader?: string };
    return body.header?.member_id && body.leader
      ? { memberId: body.header.member_id, leader: body.leader }
      : undefined;
  } catch {
    return undefined;
  }
}

function tail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// ---- clusters -----------------------------------------------------------------------------

/** One etcd member. */
export function startEtcd(): Promise<EtcdCluster> {
  return startEtcdCluster(1);
}

/** A real n-member Raft cluster (--initial-cluster), healthy when this resolves. */
export async function startEtcdCluster(n = 3): Promise<EtcdCluster> {
  let lastErr: unknown;
  // A port picked as free can be taken by someone else before etcd binds it: retry with new ones.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await tryStart(n);
    } catch (e) {
      lastErr = e;
    }
  }
  throw lastErr;
}

async function tryStart(n: number): Promise<EtcdCluster> {
  const bin = etcdBinary();
  hookExit();
  const tmp: TempDir = makeTempDir('etcd');
  const pidFile = join(tmp.dir, 'pids');
  writeFileSync(pidFile, '');
  startWatchdog(pidFile, tmp.dir);
  const token = `keymesh-test-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const members: EtcdMember[] = [];
  for (let i = 0; i < n; i++) {
    const [cp, pp] = [await freePort(), await freePort()];
    members.push({
      name: `m${i}`,
      clientUrl: `http://127.0.0.1:${cp}`,
      peerUrl: `http://127.0.0.1:${pp}`,
      dataDir: join(tmp.dir, `m${i}.etcd`),
      logPath: join(tmp.dir, `m${i}.log`),
      proc: undefined,
    });
  }
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');

  const writePids = () =>
    writeFileSync(
      pidFile,
      members
        .map((m) => m.proc?.pid)
        .filter((p) => p !== undefined)
        .join(' '),
    );

  const launch = (m: EtcdMember, state: 'new' | 'existing') => {
    const log = openSync(m.logPath, 'a');
    const args = [
      `--name=${m.name}`,
      `--data-dir=${m.dataDir}`,
      `--listen-client-urls=${m.clientUrl}`,
      `--advertise-client-urls=${m.clientUrl}`,
      `--listen-peer-urls=${m.peerUrl}`,
      `--initial-advertise-peer-urls=${m.peerUrl}`,
      `--initial-cluster=${initialCluster}`,
      `--initial-cluster-state=${state}`,
      `--initial-cluster-token=${token}`,
      '--heartbeat-interval=50',
      '--election-timeout=500',
      '--max-request-bytes=10485760',
      '--logger=zap',
      '--log-outputs=stderr',
      '--log-level=warn',
    ];
    const proc = spawn(bin, args, {
      stdio: ['ignore', log, log],
      // A clean environment: stray ETCD_* variables would override the flags.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmp.dir },
    });
    closeSync(log);
    m.proc = proc;
    running.add(proc);
    proc.once('exit', () => {
      running.delete(proc);
      if (m.proc === proc) m.proc = undefined;
      writePids();
    });
    writePids();
  };

  const waitHealthy = async (timeoutMs = 20_000, only?: EtcdMember[]) => {
    const until = Date.now() + timeoutMs;
    for (const m of only ?? members.filter((x) => x.proc)) {
      for (;;) {
        if (!m.proc) throw new Error(`etcd ${m.name} exited while starting:\n${tail(m.logPath)}`);
        if (await healthy(m.clientUrl)) break;
        if (Date.now() > until)
          throw new Error(`etcd ${m.name} not healthy in ${timeoutMs} ms:\n${tail(m.logPath)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };

  const kill = async (i: number) => {
    const m = members[i];
    if (!m) throw new Error(`no etcd member ${i}`);
    const p = m.proc;
    if (!p) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGKILL');
    await exited;
  };

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(members.map((_, i) => kill(i)));
    await tmp.cleanup();
  };

  try {
    for (const m of members) launch(m, 'new');
    await waitHealthy();
  } catch (e) {
    await stop();
    throw e;
  }

  return {
    endpoints: members.map((m) => m.clientUrl),
    members,
    kill,
    restart: async (i: number) => {
      const m = members[i];
      if (!m) throw new Error(`no etcd member ${i}`);
      if (m.proc) throw new Error(`etcd ${m.name} is running`);
      launch(m, 'existing');
      await waitHealthy(20_000, [m]);
    },
    waitHealthy: (timeoutMs?: number) => waitHealthy(timeoutMs),
    leader: async () => {
      for (const m of members.filter((x) => x.proc)) {
        const st = await status(m.clientUrl);
        if (!st) continue;
        for (const [i, other] of members.entries()) {
          const os = other.proc ? await status(other.clientUrl) : undefined;
          if (os && os.memberId === st.leader) return i;
        }
      }
      return undefined;
    },
    stop,
  };
}
