// End to end: the node process outlives what is around it. A stderr that cannot be written
// (/dev/full, a closed pipe) drops log lines, counted in a metric, instead of killing the node; a
// second node on the same data dir is refused with one line naming the dir, and a node killed
// with -9 leaves no lock behind; SIGUSR1 opens no inspector, the process is non-dumpable and core
// dumps carry no memory; every
// start failure is one readable line naming what failed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { api, CLI, REPO_ROOT, runCli, startNode, tempDir, waitFor } from '../helpers/node.js';

interface Spawned {
  proc: ChildProcess;
  url: string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** A node with its stderr wired as given; stdout stays a pipe, for the ready line. */
async function spawnNode(dataDir: string, stderr: 'pipe' | number): Promise<Spawned> {
  const proc = spawn(
    process.execPath,
    [CLI, 'start', '--dev', '--data-dir', dataDir, '--http', '127.0.0.1:0'],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, KEYMESH_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', stderr],
    },
  );
  process.on('exit', () => proc.kill('SIGKILL'));
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((res) => proc.on('exit', (code) => res(code)));
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`not ready in 30 s\n${out}`)), 30_000);
    proc.stdout!.on('data', () => {
      const m = /^keymesh ready http=(\S+)/m.exec(out);
      if (m) {
        clearTimeout(timer);
        res(`http://${m[1]}`);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`exited with ${code} before ready\n${out}`));
    });
  });
  return { proc, url, stderr: () => err, exited };
}

/** Requests that make the node log: a few answered, a few refused. */
async function makeLogs(url: string, token: string): Promise<void> {
  for (let i = 0; i < 5; i++) {
    assert.equal((await api(url, 'GET', '/v1/health')).status, 200);
    assert.equal((await api(url, 'GET', '/v1/keys', undefined, null)).status, 401);
    assert.equal((await api(url, 'GET', '/v1/keys', undefined, token)).status, 200);
  }
}

async function droppedLines(url: string): Promise<number> {
  const text = (await api<string>(url, 'GET', '/metrics')).body;
  const m = /^keymesh_log_lines_dropped_total (\d+)$/m.exec(text);
  assert.ok(m, 'the dropped-lines metric is exported');
  return Number(m[1]);
}

/** With its stderr gone, the node answers, drops and counts its log lines, and SIGTERM exits 0. */
async function servesWithoutStderr(dir: string, n: Spawned): Promise<void> {
  try {
    const token = readFileSync(join(dir, 'admin.token'), 'utf8').trim();
    await makeLogs(n.url, token);
    // A line on demand: the node logs that it ignored the signal, to a stream that is gone.
    n.proc.kill('SIGUSR1');
    await waitFor('the line to be dropped', async () => (await droppedLines(n.url)) > 0);
    // The SIGTERM line goes the same way; the node still stops cleanly.
    n.proc.kill('SIGTERM');
    assert.equal(await n.exited, 0);
  } finally {
    n.proc.kill('SIGKILL');
  }
}

test('stderr on /dev/full: the node serves, counts the dropped lines, and SIGTERM exits 0', async () => {
  const dir = tempDir();
  const fd = openSync('/dev/full', 'w');
  let n: Spawned;
  try {
    n = await spawnNode(dir, fd);
  } finally {
    closeSync(fd);
  }
  await servesWithoutStderr(dir, n);
});

test('stderr a pipe closed by its reader: the node serves and SIGTERM exits 0', async () => {
  const dir = tempDir();
  const n = await spawnNode(dir, 'pipe');
  n.proc.stderr!.destroy();
  await servesWithoutStderr(dir, n);
});

test('a second node on the same data dir is refused with one line naming it; kill -9 leaves no lock', async () => {
  const first = await startNode();
  const second = await runCli(['start', '--dev', '--data-dir', first.dataDir, '--http', '127.0.0.1:0'], {
    timeoutMs: 30_000,
  });
  assert.equal(second.timedOut, false, 'the second node does not run');
  assert.notEqual(second.code, 0);
  assert.doesNotMatch(second.stdout, /ready/);
  const lines = second.stderr.trim().split('\n');
  assert.equal(lines.length, 1, second.stderr);
  assert.ok(lines[0]!.includes(first.dataDir), 'the error names the data dir');
  assert.match(lines[0]!, /in use/);
  // The first node is untouched.
  assert.equal((await first.api('GET', '/v1/keys')).status, 200);

  await first.kill9();
  const again = await startNode({ dataDir: first.dataDir });
  assert.equal((await again.api('GET', '/v1/keys')).status, 200);
  assert.equal(await again.stop(), 0);
  // And after a clean stop too.
  const third = await startNode({ dataDir: first.dataDir });
  assert.equal(await third.stop(), 0);
});

/** Builds the native piece as `npm run build` does; false where this machine cannot build it. */
function buildNative(): boolean {
  const r = spawnSync(process.execPath, ['scripts/build-native.mjs'], { cwd: REPO_ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return existsSync(join(REPO_ROOT, 'dist/native/dumpable.node'));
}

test('the node process is non-dumpable where the native piece builds (prctl read back)', async (t) => {
  if (process.platform !== 'linux') return t.skip('Linux only');
  if (!buildNative()) return t.skip('no C compiler or Node headers on this machine');
  // The module on its own, in a fresh process: prctl(PR_GET_DUMPABLE) read back after setting it.
  const probe = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(join(REPO_ROOT, 'dist/src/process/harden.js'))}); console.log(JSON.stringify(m.hardenProcess()))`,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(probe.status, 0, probe.stderr);
  assert.deepEqual(JSON.parse(probe.stdout), {
    inspectorSignalDisabled: true,
    nonDumpable: true,
    coreDumpsWithoutMemory: true,
  });
  // And a running node says so.
  const node = await startNode();
  try {
    const metrics = (await node.api<string>('GET', '/metrics')).body;
    assert.match(metrics, /^keymesh_process_dumpable 0$/m);
  } finally {
    assert.equal(await node.stop(), 0);
  }
});

test('SIGUSR1 opens no inspector, the node goes on serving; core dumps carry no memory', async () => {
  const node = await startNode();
  const pid = node.proc.pid!;
  const refusedBefore = await connectRefused(9229);
  node.proc.kill('SIGUSR1');
  // Give an inspector, were one started, the time to say so and listen.
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await node.api('GET', '/v1/health')).status, 200);
  assert.doesNotMatch(node.stderr(), /Debugger listening|Starting inspector/i);
  await waitFor('the node to say it ignored the signal', () => /SIGUSR1 ignored/.test(node.stderr()));
  if (refusedBefore) assert.ok(await connectRefused(9229), 'nothing listens on 127.0.0.1:9229');
  if (process.platform === 'linux')
    assert.equal(readFileSync(`/proc/${pid}/coredump_filter`, 'utf8').trim(), '00000000');
  assert.equal(await node.stop(), 0);
});

function connectRefused(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      res(false);
    });
    s.on('error', () => res(true));
  });
}

/** Start a node that must refuse; its one stderr line. */
async function startFailure(dataDir: string, http = '127.0.0.1:0'): Promise<string> {
  const r = await runCli(['start', '--dev', '--data-dir', dataDir, '--http', http], { timeoutMs: 30_000 });
  assert.equal(r.timedOut, false);
  assert.notEqual(r.code, 0);
  assert.doesNotMatch(r.stdout, /ready/);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  assert.doesNotMatch(lines[0]!, /\[object Object\]|\n\s+at /);
  return lines[0]!;
}

test('start failures are one readable line naming what failed', async () => {
  // An audit file that is not a database.
  const a = tempDir();
  writeFileSync(join(a, 'audit.db'), 'not a database, not at all'.repeat(100));
  assert.match(await startFailure(a), /audit log .*audit\.db.*: .+/);

  // A store that is not a database.
  const s = tempDir();
  writeFileSync(join(s, 'keymesh.db'), 'not a database, not at all'.repeat(100));
  assert.match(await startFailure(s), /store .*keymesh\.db.*: .+/);

  // A data dir that is a file.
  const f = join(tempDir(), 'file');
  writeFileSync(f, 'x');
  assert.ok((await startFailure(f)).includes(f));

  // A port in use.
  const busy: Server = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
  const port = (busy.address() as { port: number }).port;
  try {
    const d = tempDir();
    mkdirSync(d, { recursive: true });
    const line = await startFailure(d, `127.0.0.1:${port}`);
    assert.match(line, new RegExp(`HTTP listener 127\\.0\\.0\\.1:${port}: .*in use`));
  } finally {
    busy.close();
  }
});
