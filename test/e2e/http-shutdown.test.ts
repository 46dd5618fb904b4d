// End to end: SIGTERM ends a real node while clients hold connections open. Silent, slowloris and
// idle connections do not keep it up; a request in flight still finishes; one that outlasts
// --shutdown-timeout is cut; the node exits 0 either way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startNode, waitFor } from '../helpers/node.js';
import { dribble, heldRequest, watchedSocket, within } from './http-raw.js';

test('SIGTERM with silent, slowloris and idle clients, and a request in flight: it finishes, exit 0', async () => {
  // Header and request timeouts far beyond the test: only the shutdown may close these.
  const node = await startNode({
    args: [
      '--shutdown-timeout',
      '3',
      '--headers-timeout',
      '600',
      '--request-timeout',
      '600',
      '--idle-timeout',
      '600',
    ],
  });
  try {
    const k = (await node.api<{ id: string }>('POST', '/v1/keys', { name: 'stop-k', algorithm: 'secp256k1' }))
      .body;
    const silent = watchedSocket(node.url);
    const slow = watchedSocket(node.url);
    const idle = watchedSocket(node.url);
    await Promise.all([silent.settled, slow.settled, idle.settled]);
    slow.socket.write('GET /v1/health HTTP/1.1\r\nHost: localhost\r\n');
    dribble(slow, 'X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 500);
    idle.socket.write('GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await waitFor('the idle connection’s answer', () => idle.socket.bytesRead > 0);
    // Its headers have reached the node (it answered "100 Continue"); the body follows the signal.
    const inFlight = heldRequest(node.url, node.adminToken, `/v1/keys/${k.id}/sign`, {
      digest: '0x' + '22'.repeat(32),
    });
    await inFlight.continued;

    node.proc.kill('SIGTERM');
    await waitFor('the node to begin stopping', () => /SIGTERM received/.test(node.stderr()));
    // Connections without a request in flight are closed at once, not left to their timeouts.
    await within(Promise.all([silent.closed, slow.closed, idle.closed]), 30_000, 'unbusy connections closed');
    inFlight.send();
    const answer = await inFlight.response;
    assert.ok('status' in answer, `the in-flight request was cut: ${JSON.stringify(answer)}`);
    assert.equal(answer.status, 200, answer.text);
    assert.match((JSON.parse(answer.text) as { signature: string }).signature, /^0x[0-9a-f]{128}$/);
    assert.equal(await within(node.stop(), 30_000, 'the node to exit'), 0);
  } finally {
    await node.kill9();
  }
});

test('a request in flight past --shutdown-timeout is cut, and the node still exits 0', async () => {
  const node = await startNode({
    args: ['--shutdown-timeout', '1', '--headers-timeout', '600', '--request-timeout', '600'],
  });
  try {
    const k = (
      await node.api<{ id: string }>('POST', '/v1/keys', { name: 'stop-k2', algorithm: 'secp256k1' })
    ).body;
    // Headers in, body never sent: the request stays in flight until the drain bound cuts it.
    const stuck = heldRequest(node.url, node.adminToken, `/v1/keys/${k.id}/sign`, {
      digest: '0x' + '33'.repeat(32),
    });
    await stuck.continued;
    node.proc.kill('SIGTERM');
    assert.equal(await within(node.stop(), 30_000, 'the node to exit'), 0);
    const r = await stuck.response;
    assert.ok('error' in r || r.status !== 200, 'the stuck request did not complete');
  } finally {
    await node.kill9();
  }
});

test('--shutdown-timeout and the connection flags are checked', async () => {
  const { runCli, tempDir } = await import('../helpers/node.js');
  for (const [flag, value] of [
    ['--shutdown-timeout', '-1'],
    ['--max-connections-per-ip', '1.5'],
    ['--headers-timeout', '100000'],
  ] as const) {
    const r = await runCli(
      ['start', '--dev', '--data-dir', tempDir(), '--http', '127.0.0.1:0', flag, value],
      {
        timeoutMs: 30_000,
      },
    );
    assert.notEqual(r.code, 0, `${flag} ${value} accepted`);
    assert.ok(r.stderr.includes(flag), r.stderr);
  }
});
