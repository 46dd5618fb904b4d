// POST /v1/keys/{id}/bitcoin/psbt: a BIP174 PSBT in, the same PSBT with this key's signatures out
// (Keymesh is a BIP174 Signer; combining and finalizing are the wallet's). The PSBT is parsed and
// every digest computed before anything is recorded (chains/bitcoin/psbt.ts, on the chain-work
// pool: offload.ts); the audit entry says
// what the transaction pays, from how many inputs and at what fee; then the enclave signs each
// digest, and every signature is checked against its key before it is written into the PSBT.
import {
  MAX_PSBT_BASE64,
  publicKeyMatches,
  type PsbtSigner,
  type PsbtSigningRequest,
} from '../../chains/bitcoin/psbt.js';
import { parseBitcoinNetwork } from '../../chains/bitcoin/network.js';
import type { AuditDetails } from '../../audit/chain.js';
import { invalid } from '../../errors.js';
import type { OpContext } from '../context.js';
import type { Outcome } from '../pipeline/outcome.js';
import { runSigning } from '../pipeline/signing.js';
import { materialRef } from '../pipeline/material.js';
import { runChainTask } from './offload.js';
import { type ChainSigner, enclaveSign, loadChainSigner } from './signer.js';

export interface BitcoinPsbtInput {
  psbt: unknown;
  network: unknown;
  path?: unknown;
}

export interface BitcoinPsbtAnswer {
  psbt: string;
  signedInputs: number[];
}

/** How many outputs the audit entry lists one by one; the totals cover the rest. */
const AUDITED_OUTPUTS = 16;

/**
 * Enclave calls in flight per PSBT. A thousand posted at once, and their thousand answers drained
 * in one turn, held the event loop for a measurable stall; a window keeps the pool busy without.
 */
const SIGN_WINDOW = 32;

async function inWindows<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(SIGN_WINDOW, items.length) }, lane));
  return out;
}

export async function signBitcoinPsbt(
  ctx: OpContext,
  id: string,
  input: BitcoinPsbtInput,
): Promise<Outcome<BitcoinPsbtAnswer>> {
  const signer = await loadChainSigner(ctx, id, input.path, { hdRootWithoutPath: true });
  const network = parseBitcoinNetwork(input.network, 'network');
  const psbtSigner: PsbtSigner = {};
  if (signer.publicKey) psbtSigner.publicKey = signer.publicKey;
  if (signer.record.hd && signer.record.fingerprint) {
    // An HD root signs the inputs whose BIP32 derivation records name its master fingerprint and,
    // given a `path`, those whose script is the child's at that path (signed at that path below).
    psbtSigner.masterFingerprint = Number.parseInt(signer.record.fingerprint.slice(2), 16);
  }
  // Parsing and sighashes (seconds of CPU for the largest allowed PSBTs) run on the chain-work
  // pool (offload.ts), as does writing the signatures back; only cheap checks run here.
  if (typeof input.psbt !== 'string') throw invalid('psbt must be a base64 string');
  if (input.psbt.length > MAX_PSBT_BASE64)
    throw invalid(`psbt is longer than ${MAX_PSBT_BASE64} base64 characters`);
  const plan = await runChainTask({ op: 'psbtPlan', psbt: input.psbt, network, signer: psbtSigner });
  await checkDerivationRecords(ctx, signer, plan.requests);

  const s = plan.summary;
  const outTotal = s.outputs.reduce((a, o) => a + o.amount, 0n);
  const details: AuditDetails = {
    network,
    inputs: s.inputs.length,
    outputs: s.outputs.length,
    fee: s.fee.toString(),
    outputTotal: outTotal.toString(),
    payTo: s.outputs
      .slice(0, AUDITED_OUTPUTS)
      .map((o) => `${o.address ?? 'script:' + o.script.slice(0, 80)}=${o.amount}`)
      .join(','),
    signing: [...new Set(plan.requests.map((r) => r.index))].join(','),
    signatures: plan.requests.length,
  };
  if (signer.path !== undefined) details.path = signer.path;
  return runSigning(ctx, {
    operation: ctx.operation,
    keyId: id,
    ...(signer.path !== undefined ? { path: signer.path } : {}),
    digests: plan.requests.map((r) => r.digest),
    facts: {
      kind: 'bitcoin.psbt',
      network,
      fee: s.fee.toString(),
      outputs: s.outputs.map((o) => ({
        to: o.address ?? 'script:' + o.script,
        amount: o.amount.toString(),
      })),
    },
    audit: details,
    execute: async () => {
      const results = await inWindows(plan.requests, (r) =>
        enclaveSign(ctx, signer, r.digest, r.scheme, r.path ?? signer.path),
      );
      const out = await runChainTask({ op: 'psbtApply', plan, results });
      for (let i = 0; i < results.length; i++) ctx.deps.metrics.signed(signer.record.algorithm);
      return out;
    },
  });
}

/**
 * A derivation record names a path and the key the PSBT says is there. Derive each path (public
 * data; the enclave caches children per path) and compare, so that a wrong record is refused
 * before anything is audited as allowed or signed, rather than by the signature check afterwards.
 */
async function checkDerivationRecords(
  ctx: OpContext,
  signer: ChainSigner,
  requests: readonly PsbtSigningRequest[],
): Promise<void> {
  const paths = [
    ...new Set(requests.flatMap((r) => (r.path !== undefined && r.path !== signer.path ? [r.path] : []))),
  ];
  const keys = new Map(
    await Promise.all(
      paths.map(async (p) => [p, (await ctx.deps.enclave.derive(materialRef(signer), p)).publicKey] as const),
    ),
  );
  for (const r of requests) {
    const key = r.path === undefined ? undefined : keys.get(r.path);
    if (key !== undefined && !publicKeyMatches(r, key))
      throw invalid(
        `psbt input ${r.index}: the key at ${r.path} is not the public key the PSBT's derivation record names for it`,
      );
  }
}
