// The peer channel (src/cluster/peer-channel.ts, src/api/peer/server.ts) on a real 3-node etcd
// cluster (eu/2, eu/3, us/1), keys placed on n3 only:
// - the same call through REST, JSON-RPC and the CLI on a non-holder gives the same answer, one
//   peer call each, and the same audit entries on both nodes (the peer's names the token and the
//   node it came through);
// - every operation that needs key material, forwarded, answers exactly what the holder answers
//   (signatures are deterministic), so no codec drops or changes a field;
// - a caller refused on the node it reached (no scope, revoked, bogus) causes no peer call;
// - the peer checks the token itself: revoked, without the scope or the key, refused there;
// - hostile bodies get typed refusals (400, 413, 415), never a 500;
// - only a cluster node reaches the endpoint: not the public listener, not a TLS client without a
//   certificate or with one from another CA, not a plain client certificate from the cluster CA,
//   not a node claiming to be another.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { runCli, type TestNode } from '../helpers/node.js';
import { createCa, issueClientCert, loadCa } from '../../src/tls/certs.js';
import { parseToken } from '../../src/core/tokens/record.js';
import { MAX_PEER_BODY_BYTES, PEER_OPERATIONS_PATH } from '../../src/cluster/peer-channel.js';
import { type ClusterKey, createKey, peerAddress, skipWithoutEtcd, useCluster } from './_nodes.js';
import { heavyPsbt } from '../helpers/heavy-inputs.js';
import { MAIL } from '../fixtures/eip712-mail.js';

interface AuditEntry {
  seq: number;
  action: string;
  actor: string;
  keyId?: string;
  outcome: string;
  node: string;
  details?: Record<string, unknown>;
}
type Err = { error?: { code: string; message: string } };

const c = useCluster();
const skip = skipWithoutEtcd;
const nodes = c.nodes;
const n = (id: 'n1' | 'n2' | 'n3') => nodes.find((x) => x.nodeId === id)!;
const DIGEST = '0x' + '42'.repeat(32);
const tokenId = (token: string) => parseToken(token)!.id;

async function audit(node: TestNode, after: number): Promise<AuditEntry[]> {
  const r = await node.api<{ entries: AuditEntry[] }>(
    'GET',
    `/v1/audit?after=${after}&limit=1000`,
    undefined,
    c.admin,
  );
  assert.equal(r.status, 200);
  return r.body.entries;
}
const lastSeq = async (node: TestNode) => (await audit(node, 0)).reduce((m, e) => Math.max(m, e.seq), 0);

/** Calls the peer endpoint of `node` has answered (any status), from its metrics. */
async function peerCalls(node: TestNode): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  return text
    .split('\n')
    .filter(
      (l) => l.startsWith('keymesh_http_requests_total{') && l.includes(`route="${PEER_OPERATIONS_PATH}"`),
    )
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

async function token(scopes: string[], keyIds?: string[]): Promise<string> {
  const body = { name: 't', scopes, ...(keyIds ? { keyIds } : {}) };
  const r = await n('n1').api<{ token: string }>('POST', '/v1/tokens', body, c.admin);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.token;
}

interface Tls {
  cert?: string;
  key?: string;
  ca?: string;
}
const nodeTls = (id: string): Tls => ({
  ca: readFileSync(join(c.dir, 'ca.crt'), 'utf8'),
  cert: readFileSync(join(c.dir, 'nodes', id, 'node.crt'), 'utf8'),
  key: readFileSync(join(c.dir, 'nodes', id, 'node.key'), 'utf8'),
});

/** POST to a node's peer listener with the given client TLS, headers and body. */
function peerPost(
  to: TestNode,
  tls: Tls,
  body: string | Buffer,
  headers: Record<string, string> = {},
  path = PEER_OPERATIONS_PATH,
): Promise<{ status: number; body: unknown; headers: Record<string, unknown> }> {
  const [host, port] = [peerAddress(to).replace(/:\d+$/, ''), Number(/:(\d+)$/.exec(peerAddress(to))![1])];
  return new Promise((resolve, reject) => {
    const r = request(
      {
        host,
        port,
        method: 'POST',
        path,
        ca: tls.ca ?? nodeTls('n1').ca,
        ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}),
        checkServerIdentity: () => undefined,
        agent: false,
        headers: {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON: kept as text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, headers: res.headers });
        });
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    r.end(body);
  });
}

const call = (keyId: string, tokenIdValue: string, input: unknown = { digest: DIGEST }) =>
  JSON.stringify({
    v: 1,
    operation: 'key.sign',
    keyId,
    input,
    principal: { kind: 'token', tokenId: tokenIdValue },
  });

let usKey: ClusterKey & { addresses: { ethereum: string } };
async function keyOnN3(): Promise<typeof usKey> {
  if (usKey) return usKey;
  const k = await createKey(n('n1'), c.admin, 'peer-channel-us', { regions: ['us'] });
  assert.equal(k.status, 201, JSON.stringify(k.body));
  assert.deepEqual(k.body.replicas, ['n3']);
  return (usKey = k.body as typeof usKey);
}

test(
  'REST, JSON-RPC and the CLI on a non-holder: same answer, one peer call each, same audit',
  { skip },
  async () => {
    const k = await keyOnN3();
    const message = '0x68656c6c6f';
    const from = n('n2');
    const channels: Record<string, () => Promise<string | undefined>> = {
      rest: async () => {
        const r = await from.api<{ signature: string }>(
          'POST',
          `/v1/keys/${k.id}/ethereum/message`,
          { message },
          c.admin,
        );
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.headers.get('x-keymesh-node'), 'n3');
        return r.body.signature;
      },
      rpc: async () => {
        const r = await from.api<{ result?: string }>(
          'POST',
          '/rpc',
          { jsonrpc: '2.0', id: 1, method: 'personal_sign', params: [message, k.addresses.ethereum] },
          c.admin,
        );
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return r.body.result;
      },
      cli: async () => {
        const r = await runCli(
          ['ethereum', 'message', k.id, '--message', message, '--url', from.url, '--json'],
          {
            env: { KEYMESH_TOKEN: c.admin },
          },
        );
        assert.equal(r.code, 0, r.stderr);
        return (JSON.parse(r.stdout) as { signature: string }).signature;
      },
    };
    const shape = (es: AuditEntry[]) =>
      es.filter((e) => e.keyId === k.id).map((e) => [e.action, e.outcome, e.node, e.actor, e.details]);
    const seen: Record<string, { answer: string | undefined; n2: unknown; n3: unknown }> = {};
    for (const [name, run] of Object.entries(channels)) {
      const [s2, s3, calls] = [await lastSeq(from), await lastSeq(n('n3')), await peerCalls(n('n3'))];
      const answer = await run();
      assert.equal(await peerCalls(n('n3')), calls + 1, `${name}: one peer call`);
      seen[name] = { answer, n2: shape(await audit(from, s2)), n3: shape(await audit(n('n3'), s3)) };
    }
    const id = tokenId(c.admin);
    assert.match(seen.rest!.answer ?? '', /^0x[0-9a-f]{130}$/);
    assert.deepEqual(seen.rest!.n2, [
      ['key.forward', 'success', 'n2', `token:${id}`, { to: 'n3', operation: 'ethereum.message' }],
    ]);
    const n3 = seen.rest!.n3 as unknown[][];
    assert.deepEqual(
      n3.map((e) => e.slice(0, 4)),
      [['ethereum.message', 'allowed', 'n3', `token:${id} via node:n2`]],
    );
    for (const name of ['rpc', 'cli']) assert.deepEqual(seen[name], seen.rest, `${name} as REST`);
  },
);

test(
  'every operation needing key material, forwarded, answers what the holder answers',
  { skip },
  async () => {
    const k = await keyOnN3();
    const hd = await n('n1').api<ClusterKey>(
      'POST',
      '/v1/keys',
      { name: 'peer-channel-hd', algorithm: 'secp256k1', hd: true, placement: { regions: ['us'] } },
      c.admin,
    );
    assert.equal(hd.status, 201, JSON.stringify(hd.body));
    const path = "m/44'/60'/0'/0/0";
    const pub = Buffer.from(k.publicKey.slice(2), 'hex');
    const tx = { chainId: 1, nonce: 0, gas: 21000, gasPrice: '1', to: '0x' + '11'.repeat(20), value: '0x1' };
    const signed = await n('n3').api<{ signature: string }>(
      'POST',
      `/v1/keys/${hd.body.id}/sign`,
      { digest: DIGEST, path },
      c.admin,
    );
    assert.equal(signed.status, 200, JSON.stringify(signed.body));
    const calls: [string, string, string, unknown?][] = [
      ['key.sign', 'POST', `/v1/keys/${k.id}/sign`, { digest: DIGEST }],
      ['key.sign at a path', 'POST', `/v1/keys/${hd.body.id}/sign`, { digest: DIGEST, path }],
      [
        'key.verify at a path',
        'POST',
        `/v1/keys/${hd.body.id}/verify`,
        { digest: DIGEST, signature: signed.body.signature.slice(0, 130), path },
      ],
      ['key.derive', 'GET', `/v1/keys/${hd.body.id}/derive?path=${encodeURIComponent(path)}`],
      ['ethereum.message', 'POST', `/v1/keys/${k.id}/ethereum/message`, { message: 'hello' }],
      ['ethereum.typed-data', 'POST', `/v1/keys/${k.id}/ethereum/typed-data`, { typedData: MAIL }],
      ['ethereum.transaction', 'POST', `/v1/keys/${k.id}/ethereum/transaction`, { transaction: tx }],
      [
        'bitcoin.psbt',
        'POST',
        `/v1/keys/${k.id}/bitcoin/psbt`,
        { psbt: heavyPsbt(pub, { kind: 'p2wpkh', inputs: 3 }), network: 'regtest' },
      ],
    ];
    for (const [what, method, url, body] of calls) {
      const before = await peerCalls(n('n3'));
      const here = await n('n3').api(method, url, body, c.admin);
      const there = await n('n1').api(method, url, body, c.admin);
      assert.equal(here.status, 200, `${what} on the holder: ${JSON.stringify(here.body)}`);
      assert.equal(there.status, 200, `${what} forwarded: ${JSON.stringify(there.body)}`);
      assert.deepEqual(there.body, here.body, what);
      assert.equal(there.headers.get('x-keymesh-node'), 'n3', what);
      assert.equal(await peerCalls(n('n3')), before + 1, `${what}: one peer call`);
    }
  },
);

test('a caller refused on the node it reached causes no peer call', { skip }, async () => {
  const k = await keyOnN3();
  const reader = await token(['keys:read']);
  const revoked = await token(['keys:sign']);
  const del = await n('n1').api('DELETE', `/v1/tokens/${tokenId(revoked)}`, undefined, c.admin);
  assert.equal(del.status, 204);
  const before = await peerCalls(n('n3'));
  for (const [t, status] of [
    [reader, 403],
    [revoked, 401],
    ['kmt_01890000-0000-7000-8000-000000000000_' + 'A'.repeat(43), 401],
  ] as const) {
    const r = await n('n1').api('POST', `/v1/keys/${k.id}/sign`, { digest: DIGEST }, t);
    assert.equal(r.status, status, JSON.stringify(r.body));
    const rpc = await n('n1').api<Err>(
      'POST',
      '/rpc',
      { jsonrpc: '2.0', id: 1, method: 'personal_sign', params: ['0x00', k.addresses.ethereum] },
      t,
    );
    assert.ok(rpc.body.error, JSON.stringify(rpc.body));
  }
  assert.equal(await peerCalls(n('n3')), before, 'no peer call');
});

test(
  'the peer checks the token itself: revoked, without the scope or the key, refused there',
  { skip },
  async () => {
    const k = await keyOnN3();
    const asN2 = nodeTls('n2');
    // A live token with keys:sign: signed on n3, audited there as that token through n2.
    const signer = await token(['keys:sign']);
    const s3 = await lastSeq(n('n3'));
    const ok = await peerPost(n('n3'), asN2, call(k.id, tokenId(signer)), {
      'x-keymesh-request-id': 'pc-live',
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.match((ok.body as { value: { signature: string } }).value.signature, /^0x[0-9a-f]{128}$/);
    const entries = (await audit(n('n3'), s3)).filter((e) => e.keyId === k.id);
    assert.deepEqual(
      entries.map((e) => [e.action, e.outcome, e.actor]),
      [['key.sign', 'allowed', `token:${tokenId(signer)} via node:n2`]],
    );
    // Revoked: refused on the peer at once, whatever the sending node believed.
    const del = await n('n1').api('DELETE', `/v1/tokens/${tokenId(signer)}`, undefined, c.admin);
    assert.equal(del.status, 204);
    const revoked = await peerPost(n('n3'), asN2, call(k.id, tokenId(signer)));
    assert.equal(revoked.status, 401, JSON.stringify(revoked.body));
    assert.equal((revoked.body as Err).error?.code, 'UNAUTHENTICATED');
    // A peer cannot widen a token: no scope, another key, an unknown token.
    const reader = await token(['keys:read']);
    const other = await token(['keys:sign'], ['0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b']);
    for (const [t, status, code] of [
      [tokenId(reader), 403, 'FORBIDDEN'],
      [tokenId(other), 403, 'FORBIDDEN'],
      ['0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c', 401, 'UNAUTHENTICATED'],
    ] as const) {
      const r = await peerPost(n('n3'), asN2, call(k.id, t));
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.equal((r.body as Err).error?.code, code);
    }
  },
);

test('hostile peer bodies get typed refusals, never a 500', { skip }, async () => {
  const k = await keyOnN3();
  const asN2 = nodeTls('n2');
  const id = tokenId(c.admin);
  const good = JSON.parse(call(k.id, id)) as Record<string, unknown>;
  const cases: [string, string | Buffer, number, string, Record<string, string>?][] = [
    ['not JSON', 'nope', 400, 'MALFORMED_JSON'],
    ['not JSON media type', call(k.id, id), 415, 'UNSUPPORTED_MEDIA_TYPE', { 'content-type': 'text/plain' }],
    ['an array', '[]', 400, 'INVALID_REQUEST'],
    ['another version', JSON.stringify({ ...good, v: 2 }), 400, 'INVALID_REQUEST'],
    ['unknown operation', JSON.stringify({ ...good, operation: 'key.destroy' }), 400, 'INVALID_REQUEST'],
    ['no operation', JSON.stringify({ ...good, operation: undefined }), 400, 'INVALID_REQUEST'],
    ['keyId a number', JSON.stringify({ ...good, keyId: 5 }), 400, 'INVALID_REQUEST'],
    ['keyId a path', JSON.stringify({ ...good, keyId: '../tokens/x' }), 400, 'INVALID_REQUEST'],
    ['input a string', JSON.stringify({ ...good, input: 'x' }), 400, 'INVALID_REQUEST'],
    ['digest a number', call(k.id, id, { digest: 12 }), 400, 'INVALID_REQUEST'],
    ['digest not hex', call(k.id, id, { digest: '0xzz' }), 400, 'INVALID_REQUEST'],
    ['digest too long', call(k.id, id, { digest: '0x' + '11'.repeat(33) }), 400, 'INVALID_REQUEST'],
    ['an unknown input field', call(k.id, id, { digest: DIGEST, extra: 1 }), 400, 'INVALID_REQUEST'],
    ['an unknown envelope field', JSON.stringify({ ...good, token: c.admin }), 400, 'INVALID_REQUEST'],
    [
      'a bearer secret as principal',
      JSON.stringify({ ...good, principal: { kind: 'token', token: c.admin } }),
      400,
      'INVALID_REQUEST',
    ],
    [
      'a peer as principal',
      JSON.stringify({ ...good, principal: { kind: 'peer', nodeId: 'n1', tokenId: id } }),
      400,
      'INVALID_REQUEST',
    ],
    ['no principal', JSON.stringify({ ...good, principal: undefined }), 400, 'INVALID_REQUEST'],
    ['__proto__', `{"__proto__":{"x":1},"v":1}`, 400, 'MALFORMED_JSON'],
    ['oversized', Buffer.alloc(MAX_PEER_BODY_BYTES + 1, 0x20), 413, 'PAYLOAD_TOO_LARGE'],
    ['an unknown key', call('0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', id), 404, 'NOT_FOUND'],
  ];
  for (const [what, body, status, code, headers] of cases) {
    const r = await peerPost(n('n3'), asN2, body, headers);
    assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
    assert.equal((r.body as Err).error?.code, code, what);
  }
  // Only the one route: the API is not served on the peer listener.
  const api = await peerPost(n('n3'), asN2, JSON.stringify({ digest: DIGEST }), {}, `/v1/keys/${k.id}/sign`);
  assert.equal(api.status, 404);
  // And still answering well-formed calls.
  const after = await peerPost(n('n3'), asN2, call(k.id, id));
  assert.equal(after.status, 200, JSON.stringify(after.body));
});

test('only a cluster node reaches the peer endpoint', { skip }, async () => {
  const k = await keyOnN3();
  const body = call(k.id, tokenId(c.admin));
  const s3 = await lastSeq(n('n3'));
  // The public listener has no such route, whatever the token.
  const pub = await n('n3').api<Err>('POST', PEER_OPERATIONS_PATH, JSON.parse(body), c.admin);
  assert.equal(pub.status, 404);
  // No client certificate, or one from another CA: TLS refuses the connection.
  await assert.rejects(peerPost(n('n3'), { ca: nodeTls('n1').ca }, body));
  const other = await createCa('Another CA');
  const stranger = await issueClientCert(other, { commonName: 'n1' });
  await assert.rejects(peerPost(n('n3'), { cert: stranger.certPem, key: stranger.keyPem }, body));
  // A plain client certificate from the cluster CA, even one naming a node: not a node.
  const plain = await issueClientCert(loadCa(c.dir), { commonName: 'n1' });
  const r = await peerPost(n('n3'), { cert: plain.certPem, key: plain.keyPem }, body);
  assert.equal(r.status, 403, JSON.stringify(r.body));
  assert.equal((r.body as Err).error?.code, 'FORBIDDEN');
  // A node claiming to forward for another node.
  const claim = await peerPost(n('n3'), nodeTls('n2'), body, { 'x-keymesh-forwarded-by': 'n1' });
  assert.equal(claim.status, 403);
  // None of these ran anything on n3.
  assert.deepEqual(
    (await audit(n('n3'), s3)).filter((e) => e.keyId === k.id),
    [],
  );
});
