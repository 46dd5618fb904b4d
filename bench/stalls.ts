// Event-loop stalls for `npm run bench`: the worst event-loop delay measured inside the node
// process (prom-client's monitorEventLoopDelay gauge keymesh_nodejs_eventloop_lag_max_seconds,
// the maximum since the previous /metrics scrape, 10 ms resolution) while it serves the largest
// allowed wallet inputs, with a normal signing request and /v1/health asked for side by side.
// Each case: scrape (resets the maximum), run the big request while a second client signs and
// probes health in a loop, scrape again. The bound the node is held to is ~50 ms per request.
import { createHash, randomBytes } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import type { TestNode } from '../test/helpers/node.js';
import {
  ATTACK_TYPED_DATA,
  heavyPsbt,
  heavyTypedData,
  MAX_P2PKH_PSBT,
} from '../test/helpers/heavy-inputs.js';
import { fmt, percentiles } from './stats.js';

interface Case {
  label: string;
  path: (id: string) => string;
  body: string;
  expect: number;
}

async function lagMaxMs(node: TestNode): Promise<number> {
  const r = await fetch(`${node.url}/metrics`, { headers: { authorization: `Bearer ${node.adminToken}` } });
  const text = await r.text();
  const m = /^keymesh_nodejs_eventloop_lag_max_seconds(?:\{[^}]*\})? ([0-9.e+-]+)$/m.exec(text);
  return m ? Number(m[1]) * 1000 : NaN;
}

/** The largest Ethereum transaction the node accepts: 128 KiB of data, 10,000 storage keys. */
function largestTransaction(): string {
  const key = () => '0x' + randomBytes(32).toString('hex');
  return JSON.stringify({
    transaction: {
      type: '0x2',
      chainId: 1,
      nonce: 1,
      gas: 30_000_000,
      maxFeePerGas: '30000000000',
      maxPriorityFeePerGas: '1000000000',
      to: '0x' + randomBytes(20).toString('hex'),
      value: '0',
      data: '0x' + randomBytes(128 * 1024).toString('hex'),
      accessList: Array.from({ length: 1000 }, () => ({
        address: '0x' + randomBytes(20).toString('hex'),
        storageKeys: Array.from({ length: 10 }, key),
      })),
    },
  });
}

async function post(node: TestNode, path: string, body: string): Promise<number> {
  const r = await fetch(node.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${node.adminToken}`, 'content-type': 'application/json' },
    body,
  });
  await r.arrayBuffer();
  return r.status;
}

/** The stall table's lines. */
export async function stallRows(node: TestNode): Promise<string[]> {
  const priv = createHash('sha256').update('keymesh bench stalls').digest();
  const imported = await node.api<{ id: string }>('POST', '/v1/keys/import', {
    name: 'bench-stalls',
    algorithm: 'secp256k1',
    privateKey: '0x' + priv.toString('hex'),
  });
  const id = imported.body.id;
  const pub = secp256k1.getPublicKey(priv, true);
  const cases: Case[] = [
    { label: 'idle (normal signing only)', path: () => '', body: '', expect: 0 },
    {
      label: 'typed data, 126x128 mutually referencing types, 2,000 instances (served)',
      path: (k) => `/v1/keys/${k}/ethereum/typed-data`,
      body: JSON.stringify({ typedData: heavyTypedData(ATTACK_TYPED_DATA) }),
      expect: 200,
    },
    {
      label: 'typed data past the hashing bound (refused)',
      path: (k) => `/v1/keys/${k}/ethereum/typed-data`,
      body: JSON.stringify({
        typedData: heavyTypedData({ ...ATTACK_TYPED_DATA, instances: 2, distinctBig: 60 }),
      }),
      expect: 400,
    },
    {
      label: 'PSBT, 1,000 P2PKH inputs with nonWitnessUtxo, ~1 MiB',
      path: (k) => `/v1/keys/${k}/bitcoin/psbt`,
      body: JSON.stringify({ psbt: heavyPsbt(pub, MAX_P2PKH_PSBT), network: 'regtest' }),
      expect: 200,
    },
    {
      label: 'PSBT, 1,000 P2WPKH inputs',
      path: (k) => `/v1/keys/${k}/bitcoin/psbt`,
      body: JSON.stringify({ psbt: heavyPsbt(pub, { kind: 'p2wpkh', inputs: 1000 }), network: 'regtest' }),
      expect: 200,
    },
    {
      label: 'Ethereum tx, 128 KiB data + 10,000 storage keys',
      path: (k) => `/v1/keys/${k}/ethereum/transaction`,
      body: largestTransaction(),
      expect: 200,
    },
  ];
  const rows: string[] = [];
  for (const c of cases) {
    await lagMaxMs(node); // resets the maximum
    const t0 = performance.now();
    let done = false;
    const big =
      c.expect === 0
        ? new Promise<number>((r) => setTimeout(() => r(0), 2000))
        : post(node, c.path(id), c.body);
    void big.finally(() => (done = true));
    const signMs: number[] = [];
    const healthMs: number[] = [];
    let signErrors = 0;
    const probe = (async () => {
      while (!done) {
        let t = performance.now();
        const h = await fetch(`${node.url}/v1/health`);
        await h.arrayBuffer();
        healthMs.push(performance.now() - t);
        t = performance.now();
        const s = await post(
          node,
          `/v1/keys/${id}/sign`,
          JSON.stringify({ digest: '0x' + randomBytes(32).toString('hex') }),
        );
        signMs.push(performance.now() - t);
        if (s !== 200) signErrors++;
      }
    })();
    const status = await big;
    await probe;
    const seconds = (performance.now() - t0) / 1000;
    const stall = await lagMaxMs(node);
    const worstHealth = Math.max(...healthMs);
    const worstSign = Math.max(...signMs);
    const { p50ms } = percentiles(signMs);
    rows.push(
      [
        c.label.padEnd(74),
        (c.expect === 0 ? '-' : String(status)).padStart(6),
        fmt(seconds, 2).padStart(7),
        fmt(stall, 1).padStart(9),
        fmt(worstHealth, 1).padStart(10),
        String(signMs.length).padStart(6),
        fmt(p50ms, 1).padStart(8),
        fmt(worstSign, 1).padStart(9),
        String(signErrors).padStart(4),
      ].join('  '),
    );
  }
  return [
    [
      'served alongside (largest allowed inputs)'.padEnd(74),
      'status',
      'req s',
      'stall ms',
      'health max',
      'signs',
      'sign p50',
      'sign max',
      'err',
    ].join('  '),
    ...rows,
  ];
}
