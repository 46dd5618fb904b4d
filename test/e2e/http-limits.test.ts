// End to end, a real node under hostile connection patterns: one address opening more connections
// than its cap (the excess is closed, other addresses are still served, health and signing
// answer), silent, slow and idle connections closed by the node, and bodies over the limit
// answered 413 to fetch() (undici, what ethers and viem use) instead of a broken pipe.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startNode, waitFor, type TestNode } from '../helpers/node.js';
import { dribble, rawRequest, watchedSocket, within, type Watched } from './http-raw.js';
import { clientKey } from '../../src/api/http/edge.js';

type Err = { error: { code: string; message: string } };

test('the per-client cap counts an IPv4 address (mapped or not) as one, an IPv6 /64 as one', () => {
  assert.equal(clientKey('127.0.0.2'), '127.0.0.2');
  assert.equal(clientKey('::ffff:127.0.0.2'), '127.0.0.2');
  assert.equal(clientKey('2001:db8:1:2:3:4:5:6'), clientKey('2001:db8:1:2::9'));
  assert.notEqual(clientKey('2001:db8:1:2::9'), clientKey('2001:db8:1:3::9'));
  assert.equal(clientKey('2001:DB8:1:2::1'), clientKey('2001:db8:1:2::1'));
});

describe('connection caps', () => {
  const PER_IP = 20;
  const TOTAL = 60;
  let node: TestNode;
  let keyId: string;
  const held: Watched[] = [];
  before(async () => {
    // Long header timeouts: the flooder's accepted sockets must stay open while the test looks.
    node = await startNode({
      args: [
        '--max-connections-per-ip',
        String(PER_IP),
        '--max-connections',
        String(TOTAL),
        '--headers-timeout',
        '120',
        '--request-timeout',
        '120',
      ],
    });
    keyId = (await node.api<{ id: string }>('POST', '/v1/keys', { name: 'flood-k', algorithm: 'secp256k1' }))
      .body.id;
  });
  after(async () => {
    for (const w of held) w.socket.destroy();
    await node.stop();
  });

  test('one address over its cap: the excess is closed, the rest served, other addresses unaffected', async () => {
    const flood = Array.from({ length: 3 * PER_IP }, () => watchedSocket(node.url, '127.0.0.2'));
    held.push(...flood);
    await Promise.all(flood.map((w) => w.settled));
    await waitFor('the node to close the flooder’s excess connections', () =>
      flood.filter((w) => w.isClosed()).length >= 2 * PER_IP ? true : undefined,
    );
    const open = flood.filter((w) => !w.isClosed());
    assert.equal(open.length, PER_IP, 'exactly the cap stays open');

    // Another address is served: health and signing, from 127.0.0.1.
    const health = await node.api('GET', '/v1/health', undefined, null);
    assert.equal(health.status, 200);
    const sig = await node.api<{ signature: string }>('POST', `/v1/keys/${keyId}/sign`, {
      digest: '0x' + '11'.repeat(32),
    });
    assert.equal(sig.status, 200, JSON.stringify(sig.body));

    // The flooder's accepted connections are real connections: each one is answered.
    const answers = await Promise.all(
      open.map((w) => {
        w.socket.write('GET /v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
        return w.closed;
      }),
    );
    for (const a of answers) assert.equal(a.status, 200);

    // And a new connection from the flooder, now under its cap again, is served too.
    const again = await rawRequest(
      node.url,
      'GET /v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n',
      '127.0.0.2',
    );
    assert.equal(again.status, 200);
  });

  test('the total cap holds across addresses', async () => {
    const addrs = ['127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'];
    const socks = addrs.flatMap((a) => Array.from({ length: PER_IP }, () => watchedSocket(node.url, a)));
    held.push(...socks);
    await Promise.all(socks.map((w) => w.settled));
    // 80 asked for, at most 60 in all (fewer when the test's own client still holds some).
    await waitFor('the node to close connections past the total', () =>
      socks.filter((w) => w.isClosed()).length >= socks.length - TOTAL ? true : undefined,
    );
    assert.ok(socks.filter((w) => !w.isClosed()).length <= TOTAL);
    for (const w of socks) w.socket.destroy();
    await Promise.all(socks.map((w) => w.closed));
    await waitFor('the node to serve again once they are gone', async () => {
      try {
        return (await fetch(`${node.url}/v1/health`)).status === 200;
      } catch {
        return false;
      }
    });
  });
});

describe('silent, slow and idle connections are closed', () => {
  let node: TestNode;
  before(async () => {
    node = await startNode({
      args: ['--headers-timeout', '2', '--request-timeout', '4', '--idle-timeout', '1'],
    });
  });
  after(async () => {
    await node.stop();
  });

  const closedWith408 = async (w: Watched, what: string) => {
    const a = await within(w.closed, 30_000, what);
    // The node answers 408 with the contract's body before closing.
    assert.equal(a.status, 408, a.raw.toString('latin1'));
    assert.equal((JSON.parse(a.body) as Err).error.code, 'REQUEST_TIMEOUT');
  };

  test('a connection that never sends a byte', async () => {
    const w = watchedSocket(node.url);
    await closedWith408(w, 'a silent connection to be closed');
  });

  test('a slowloris: headers a byte at a time, never finished', async () => {
    const w = watchedSocket(node.url);
    await w.settled;
    w.socket.write('GET /v1/health HTTP/1.1\r\nHost: localhost\r\n');
    dribble(w, 'X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 200);
    await closedWith408(w, 'a slowloris connection to be closed');
  });

  test('a body a byte at a time', async () => {
    const w = watchedSocket(node.url);
    await w.settled;
    w.socket.write(
      `POST /v1/keys HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${node.adminToken}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{',
    );
    dribble(w, ' ', 200);
    await closedWith408(w, 'a slow body to be closed');
  });

  test('an idle keep-alive connection after its answer', async () => {
    const w = watchedSocket(node.url);
    await w.settled;
    w.socket.write('GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const a = await within(w.closed, 30_000, 'an idle connection to be closed');
    assert.equal(a.status, 200);
  });

  test('the node serves throughout', async () => {
    assert.equal((await node.api('GET', '/v1/health', undefined, null)).status, 200);
  });
});

describe('a body over the limit is a readable 413', () => {
  let node: TestNode;
  before(async () => {
    node = await startNode();
  });
  after(async () => {
    await node.stop();
  });
  const EIGHT_MIB = Buffer.alloc(8 * 1024 * 1024, 0x20);

  test('fetch() sending 8 MiB, 20 times: always 413 with the contract’s body', async () => {
    for (let i = 0; i < 20; i++) {
      const r = await fetch(`${node.url}/v1/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${node.adminToken}`, 'content-type': 'application/json' },
        body: EIGHT_MIB,
      });
      assert.equal(r.status, 413, `try ${i}`);
      const body = (await r.json()) as Err;
      assert.equal(body.error.code, 'PAYLOAD_TOO_LARGE');
      assert.equal(typeof body.error.message, 'string');
    }
  });

  test('the same over JSON-RPC (what ethers and viem send to)', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${node.url}/rpc`, {
        method: 'POST',
        headers: { authorization: `Bearer ${node.adminToken}`, 'content-type': 'application/json' },
        body: EIGHT_MIB,
      });
      assert.equal(r.status, 413, `try ${i}`);
      const body = (await r.json()) as { error: { data?: { code: string } } };
      assert.equal(body.error.data?.code, 'PAYLOAD_TOO_LARGE');
    }
  });

  test('a chunked body (no Content-Length) over the limit, and a non-JSON one', async () => {
    const stream = () =>
      new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < 8; i++) c.enqueue(new Uint8Array(1024 * 1024).fill(0x20));
          c.close();
        },
      });
    const r = await fetch(`${node.url}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${node.adminToken}`, 'content-type': 'application/json' },
      body: stream(),
      duplex: 'half',
    } as RequestInit);
    assert.equal(r.status, 413);
    assert.equal(((await r.json()) as Err).error.code, 'PAYLOAD_TOO_LARGE');
    const t = await fetch(`${node.url}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${node.adminToken}`, 'content-type': 'text/plain' },
      body: EIGHT_MIB,
    });
    assert.equal(t.status, 415);
    assert.equal(((await t.json()) as Err).error.code, 'UNSUPPORTED_MEDIA_TYPE');
  });

  test('far past the drain bound the connection is closed, and the node serves on', async () => {
    const huge = Buffer.alloc(40 * 1024 * 1024, 0x20);
    try {
      const r = await fetch(`${node.url}/v1/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${node.adminToken}`, 'content-type': 'application/json' },
        body: huge,
      });
      assert.equal(r.status, 413); // when the client reads the answer before the close
    } catch {
      // a connection error: the node stopped reading past its bound, as designed
    }
    assert.equal((await node.api('GET', '/v1/health')).status, 200);
  });
});
