// Wallet-signing rows for `npm run bench`: an EIP-1559 transaction (POST
// /v1/keys/{id}/ethereum/transaction) and a one-input P2WPKH PSBT (POST /v1/keys/{id}/bitcoin/psbt)
// over HTTP, each request different (random nonce; a random previous txid), so the node decodes,
// audits, signs and assembles every one. Reported beside the raw secp256k1 rates of the same run,
// as ratios, in run.ts's row format.
import { randomBytes } from 'node:crypto';
import { p2wpkh, Transaction } from '@scure/btc-signer';
import type { TestNode } from '../test/helpers/node.js';
import { runLoad } from './http-load.js';

const REGTEST = { bech32: 'bcrt', pubKeyHash: 0x6f, scriptHash: 0xc4, wif: 0xef };
const PSBT_POOL = 512;

/** Rows of run.ts's table for the two wallet-signing cases at `concurrency`. */
export async function chainRows(
  node: TestNode,
  raw: { opsPerSec: number },
  rawFc: { opsPerSec: number },
  opts: { seconds: number; concurrency: number; fmt: (n: number, d?: number) => string },
): Promise<string[]> {
  const key = await node.api<{ id: string; publicKey: string }>('POST', '/v1/keys', {
    name: 'bench-chains',
    algorithm: 'secp256k1',
  });
  const { id, publicKey } = key.body;
  const to = '0x' + randomBytes(20).toString('hex');
  const ethBody = () =>
    JSON.stringify({
      transaction: {
        type: '0x2',
        chainId: 1,
        nonce: randomBytes(4).readUInt32BE(0),
        gas: 21000,
        maxFeePerGas: '30000000000',
        maxPriorityFeePerGas: '1000000000',
        to,
        value: '1000000000000000',
      },
    });
  // PSBTs are built up front so that the load generator's own work does not count against the node.
  const spk = p2wpkh(Buffer.from(publicKey.slice(2), 'hex'), REGTEST);
  const psbts = Array.from({ length: PSBT_POOL }, () => {
    const tx = new Transaction();
    tx.addInput({ txid: randomBytes(32), index: 0, witnessUtxo: { script: spk.script, amount: 100_000n } });
    tx.addOutputAddress(spk.address!, 99_000n, REGTEST);
    return JSON.stringify({ psbt: Buffer.from(tx.toPSBT()).toString('base64'), network: 'regtest' });
  });
  let next = 0;
  const cases = [
    { label: 'eth-1559', path: `/v1/keys/${id}/ethereum/transaction`, body: ethBody },
    { label: 'psbt-p2wpkh', path: `/v1/keys/${id}/bitcoin/psbt`, body: () => psbts[next++ % PSBT_POOL]! },
  ];
  const { fmt } = opts;
  const rows: string[] = [];
  for (const c of cases) {
    const r = await runLoad({
      url: node.url,
      method: 'POST',
      path: c.path,
      body: c.body,
      token: node.adminToken,
      concurrency: opts.concurrency,
      seconds: opts.seconds,
    });
    rows.push(
      [
        c.label.padEnd(10),
        String(opts.concurrency).padStart(4),
        fmt(r.rps).padStart(8),
        fmt(r.p50ms, 2).padStart(8),
        fmt(r.p99ms, 2).padStart(8),
        fmt(r.rps / raw.opsPerSec, 2).padStart(10),
        fmt(r.rps / rawFc.opsPerSec, 2).padStart(12),
        String(r.errors).padStart(6),
      ].join('  '),
    );
  }
  return rows;
}
