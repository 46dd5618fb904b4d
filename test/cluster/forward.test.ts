// Forwarding (src/cluster/forward.ts) against real node:https servers on loopback, with a cluster
// CA and node certificates made by src/tls: the call arrives unchanged, with no credential, the
// shared request id and the forwarding node's id, and the server sees the
// forwarder's node id from its client certificate. Refused as not sent (and so tried elsewhere):
// a peer whose certificate names another node (also on a kept-alive connection), is from another
// CA, or is a client-only certificate; a server refusing our certificate; a closed port; a peer
// that never completes the handshake; a peer that declines. Never retried: a peer that takes the
// request and does not answer in time, or answers too much. Inputs are bounded.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import {
  Forwarder,
  HEADER_FORWARDED_BY,
  HEADER_FORWARD_REFUSED,
  HEADER_REQUEST_ID,
  peerNodeId,
  peerServerOptions,
  type ForwardRequest,
  type PeerTls,
} from '../../src/cluster/forward.js';
import { createCa, issueClientCert, issueServerCert } from '../../src/tls/certs.js';
import { KeymeshError } from '../../src/errors.js';

const ca = await createCa('Keymesh cluster CA');
const otherCa = await createCa('Another CA');
const nodeCert = (c: typeof ca, id: string) => issueServerCert(c, { commonName: id, clientAuth: true });
const tlsOf = async (c: typeof ca, id: string): Promise<PeerTls> => {
  const b = await nodeCert(c, id);
  return { ca: c.certPem, cert: b.certPem, key: b.keyPem };
};
const tlsA = await tlsOf(ca, 'node-a');
const tlsB = await tlsOf(ca, 'node-b');
const tlsC = await tlsOf(ca, 'node-c');

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;
const servers: (Server | TcpServer)[] = [];
const connections = new Map<Server, number>();

async function listen(s: Server | TcpServer): Promise<string> {
  servers.push(s);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return `https://127.0.0.1:${(s.address() as { port: number }).port}`;
}

async function peer(
  tls: PeerTls,
  handler: Handler,
): Promise<{ server: Server; endpoint: string; hits: () => number }> {
  let hits = 0;
  const server = createServer(peerServerOptions(tls), (req, res) => {
    hits++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, res, Buffer.concat(chunks)));
  });
  server.on('secureConnection', () => connections.set(server, (connections.get(server) ?? 0) + 1));
  return { server, endpoint: await listen(server), hits: () => hits };
}

const echo: Handler = (req, res, body) => {
  res.setHeader('content-type', 'application/json');
  res.end(
    JSON.stringify({
      method: req.method,
      url: req.url,
      authorization: req.headers.authorization ?? null,
      requestId: req.headers[HEADER_REQUEST_ID] ?? null,
      forwardedBy: req.headers[HEADER_FORWARDED_BY] ?? null,
      caller: peerNodeId(req.socket as TLSSocket) ?? null,
      body: body.toString('utf8'),
    }),
  );
};

let b: Awaited<ReturnType<typeof peer>>;
const fwds: Forwarder[] = [];
const forwarder = (tls: PeerTls = tlsA, opts: Partial<ConstructorParameters<typeof Forwarder>[1]> = {}) => {
  const f = new Forwarder(tls, { selfNodeId: 'node-a', timeoutMs: 1500, connectTimeoutMs: 500, ...opts });
  fwds.push(f);
  return f;
};
// A peer-channel call (src/cluster/peer-channel.ts): no credential crosses, only the token's id.
const sign: ForwardRequest = {
  method: 'POST',
  path: '/peer/v1/operations',
  body: JSON.stringify({
    v: 1,
    operation: 'key.sign',
    keyId: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
    input: { digest: '0x' + '11'.repeat(32) },
    principal: { kind: 'token', tokenId: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c' },
  }),
  requestId: 'req-123_ABC',
};

async function noLiveReplica(p: Promise<unknown>, outcome: 'not_sent' | 'unknown', reason?: RegExp) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof KeymeshError, String(e));
    assert.equal(e.code, 'NO_LIVE_REPLICA', e.message);
    const d = e.details as { outcome: string; attempts: { nodeId: string; reason: string }[] };
    assert.equal(d.outcome, outcome, JSON.stringify(d));
    if (reason) assert.match(d.attempts.map((a) => a.reason).join(' | '), reason);
    assert.doesNotMatch(JSON.stringify(d), /km_secret_token/, 'the caller’s token is never in an error');
    return true;
  });
}

before(async () => {
  b = await peer(tlsB, echo);
});

after(async () => {
  for (const f of fwds) f.close();
  for (const s of servers) {
    (s as Server).closeAllConnections?.();
    s.close();
  }
});

test('a forwarded call arrives unchanged, without a credential, with the request id and both node ids', async () => {
  const f = forwarder();
  const res = await f.forward({ nodeId: 'node-b', endpoint: b.endpoint }, sign);
  assert.equal(res.nodeId, 'node-b');
  assert.equal(res.status, 200);
  assert.match(res.contentType ?? '', /application\/json/);
  assert.deepEqual(JSON.parse(res.body.toString('utf8')), {
    method: 'POST',
    url: sign.path,
    authorization: null,
    requestId: 'req-123_ABC',
    forwardedBy: 'node-a',
    caller: 'node-a',
    body: sign.body,
  });
  // A GET without a body; and the connection is kept alive and reused.
  const before = connections.get(b.server) ?? 0;
  for (let i = 0; i < 5; i++) {
    const g = await f.forward(
      { nodeId: 'node-b', endpoint: b.endpoint },
      { method: 'GET', path: '/v1/keys?limit=1', requestId: `r${i}` },
    );
    assert.equal(JSON.parse(g.body.toString()).body, '');
  }
  assert.ok((connections.get(b.server) ?? 0) - before <= 1, 'one connection for sequential calls');
});

test('the peer’s own error answers are passed through as they are', async () => {
  const p = await peer(tlsC, (_req, res) => {
    res.statusCode = 409;
    res.setHeader('content-type', 'application/json');
    res.end('{"error":{"code":"INVALID_STATE","message":"The key is deactivated."}}');
  });
  const res = await forwarder().forward({ nodeId: 'node-c', endpoint: p.endpoint }, sign);
  assert.equal(res.status, 409);
  assert.equal(JSON.parse(res.body.toString()).error.code, 'INVALID_STATE');
});

test('a peer whose certificate names another node is refused, also on a kept-alive connection', async () => {
  const f = forwarder();
  const hits = b.hits();
  await noLiveReplica(f.forward({ nodeId: 'node-c', endpoint: b.endpoint }, sign), 'not_sent', /identity/);
  // Warm a pooled connection to B, then ask for node-c at the same address.
  await f.forward({ nodeId: 'node-b', endpoint: b.endpoint }, sign);
  await noLiveReplica(f.forward({ nodeId: 'node-c', endpoint: b.endpoint }, sign), 'not_sent', /identity/);
  assert.equal(b.hits(), hits + 1, 'only the call to the right node reached B');
  // Tried elsewhere: the next candidate answers.
  const res = await f.forwardToAny(
    [
      { nodeId: 'node-c', endpoint: b.endpoint },
      { nodeId: 'node-b', endpoint: b.endpoint },
    ],
    sign,
  );
  assert.equal(res.nodeId, 'node-b');
});

test('certificates from another CA, or not server certificates, are refused on either side', async () => {
  const foreign = await peer(await tlsOf(otherCa, 'node-x'), echo);
  await noLiveReplica(
    forwarder().forward({ nodeId: 'node-x', endpoint: foreign.endpoint }, sign),
    'not_sent',
  );
  assert.equal(foreign.hits(), 0);

  // A client-only certificate (clientAuth, CN node-y) presented as a server certificate.
  const clientOnly = await issueClientCert(ca, { commonName: 'node-y' });
  const y = await peer({ ca: ca.certPem, cert: clientOnly.certPem, key: clientOnly.keyPem }, echo);
  await noLiveReplica(forwarder().forward({ nodeId: 'node-y', endpoint: y.endpoint }, sign), 'not_sent');
  assert.equal(y.hits(), 0);

  // Our certificate from another CA: B refuses the handshake; the request never reaches it.
  const hits = b.hits();
  const stranger = forwarder(await tlsOf(otherCa, 'node-a'));
  await noLiveReplica(stranger.forward({ nodeId: 'node-b', endpoint: b.endpoint }, sign), 'not_sent');
  assert.equal(b.hits(), hits);
});

test('a closed port or a peer that never completes the handshake: not sent, next candidate tried', async () => {
  const closed = createTcpServer();
  const dead = await listen(closed);
  await new Promise<void>((r) => closed.close(() => r()));
  const f = forwarder();
  await noLiveReplica(f.forward({ nodeId: 'node-d', endpoint: dead }, sign), 'not_sent', /ECONNREFUSED/);

  const held: Socket[] = [];
  const silent = createTcpServer((s) => held.push(s)); // accepts TCP, never speaks TLS
  const silentEndpoint = await listen(silent);
  const t0 = Date.now();
  await noLiveReplica(
    f.forward({ nodeId: 'node-s', endpoint: silentEndpoint }, sign),
    'not_sent',
    /connect timed out/,
  );
  const took = Date.now() - t0;
  assert.ok(took >= 450 && took < 1400, `bounded by the connect timeout (${took} ms)`);
  const res = await f.forwardToAny(
    [
      { nodeId: 'node-d', endpoint: dead },
      { nodeId: 'node-s', endpoint: silentEndpoint },
      { nodeId: 'node-b', endpoint: b.endpoint },
    ],
    sign,
  );
  assert.equal(res.nodeId, 'node-b');
  for (const s of held) s.destroy();
});

test('a peer that declines before acting is skipped; one that takes the call and stalls is not retried', async () => {
  const decliner = await peer(tlsC, (_req, res) => {
    res.statusCode = 503;
    res.setHeader(HEADER_FORWARD_REFUSED, 'not-live');
    res.end('{"error":{"code":"UNAVAILABLE","message":"not live"}}');
  });
  const f = forwarder();
  const res = await f.forwardToAny(
    [
      { nodeId: 'node-c', endpoint: decliner.endpoint },
      { nodeId: 'node-b', endpoint: b.endpoint },
    ],
    sign,
  );
  assert.equal(res.nodeId, 'node-b');
  await noLiveReplica(
    f.forward({ nodeId: 'node-c', endpoint: decliner.endpoint }, sign),
    'not_sent',
    /declined/,
  );

  const staller = await peer(await tlsOf(ca, 'node-z'), () => undefined); // never answers
  const hits = b.hits();
  const t0 = Date.now();
  await noLiveReplica(
    f.forwardToAny(
      [
        { nodeId: 'node-z', endpoint: staller.endpoint },
        { nodeId: 'node-b', endpoint: b.endpoint },
      ],
      sign,
    ),
    'unknown',
    /timed out/,
  );
  const took = Date.now() - t0;
  assert.ok(took >= 1400 && took < 2500, `bounded by the total timeout (${took} ms)`);
  assert.equal(b.hits(), hits, 'a call that may have been acted on is not sent elsewhere');
  assert.equal(staller.hits(), 1);
});

test('an answer larger than the bound is cut off (outcome unknown)', async () => {
  const big = await peer(await tlsOf(ca, 'node-big'), (_req, res) => res.end(Buffer.alloc(300_000, 0x61)));
  await noLiveReplica(
    forwarder(tlsA, { maxResponseBytes: 100_000 }).forward(
      { nodeId: 'node-big', endpoint: big.endpoint },
      sign,
    ),
    'unknown',
    /too large/,
  );
  const ok = await forwarder(tlsA, { maxResponseBytes: 300_000 }).forward(
    { nodeId: 'node-big', endpoint: big.endpoint },
    sign,
  );
  assert.equal(ok.body.length, 300_000);
});

test('inputs are checked before anything is sent', async () => {
  const f = forwarder(tlsA, { maxRequestBytes: 1000 });
  const t = { nodeId: 'node-b', endpoint: b.endpoint };
  const code = async (p: Promise<unknown>) => {
    try {
      await p;
      return undefined;
    } catch (e) {
      assert.ok(e instanceof KeymeshError, String(e));
      return e.code;
    }
  };
  const hits = b.hits();
  assert.equal(await code(f.forward(t, { ...sign, body: 'x'.repeat(1001) })), 'PAYLOAD_TOO_LARGE');
  for (const bad of [
    { ...sign, path: 'v1/keys' },
    { ...sign, path: '//evil.example/x' },
    { ...sign, path: '/v1/keys /x' },
    { ...sign, path: '/v1\r\nx: y' },
    { ...sign, requestId: '' },
    { ...sign, requestId: 'a b' },
    { ...sign, method: 'PATCH' as 'GET' },
  ])
    assert.equal(await code(f.forward(t, bad)), 'INVALID_REQUEST', JSON.stringify(bad));
  for (const endpoint of [
    'http://127.0.0.1:1',
    'https://127.0.0.1',
    'https://u:p@127.0.0.1:1',
    'https://127.0.0.1:1/x',
    'nope',
  ])
    assert.equal(await code(f.forward({ nodeId: 'node-b', endpoint }, sign)), 'INVALID_REQUEST', endpoint);
  assert.equal(await code(f.forward({ nodeId: 'bad id', endpoint: b.endpoint }, sign)), 'INVALID_REQUEST');
  assert.equal(b.hits(), hits);
  // Never to ourselves.
  await noLiveReplica(f.forward({ nodeId: 'node-a', endpoint: b.endpoint }, sign), 'not_sent');
  assert.throws(() => new Forwarder(tlsA, { selfNodeId: 'node-a', timeoutMs: 0 }), KeymeshError);
});
