// Shared by the cluster tests: a cluster CA (src/tls), attested node registrations, fresh etcd
// namespaces, and polling.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { signAttestation, ATTESTATION_TYPE_SOFTWARE_V1 } from '../../src/enclave/crypto/attestation.js';
import { generateTransportKeyPair, type TransportKeyPair } from '../../src/enclave/crypto/wrap.js';
import type { NodeRegistration } from '../../src/cluster/membership.js';
import { createCa, type CertificateAuthority } from '../../src/tls/certs.js';

export const DAY = 86_400_000;

export function freshNamespace(label: string): string {
  return `keymesh-test/${label}-${randomBytes(4).toString('hex')}/`;
}

export async function clusterCa(): Promise<CertificateAuthority> {
  return createCa('Keymesh test cluster CA');
}

export function registration(
  ca: CertificateAuthority,
  id: string,
  region = 'eu-west',
  level = 1,
  opts: { attestFor?: Partial<{ id: string; region: string; level: number; transport: Uint8Array }> } = {},
): { reg: NodeRegistration; transport: TransportKeyPair } {
  const transport = generateTransportKeyPair();
  const hexKey = (k: Uint8Array) => '0x' + Buffer.from(k).toString('hex');
  const a = opts.attestFor ?? {};
  const attestation = signAttestation(
    {
      type: ATTESTATION_TYPE_SOFTWARE_V1,
      nodeId: a.id ?? id,
      region: a.region ?? region,
      level: a.level ?? level,
      transportPublicKey: hexKey(a.transport ?? transport.publicKey),
      enclaveKind: 'software',
      issuedAt: Date.now() - 60_000,
      expiresAt: Date.now() + DAY,
    },
    ca.keyPem,
  );
  return {
    reg: {
      id,
      region,
      level,
      endpoints: ['https://127.0.0.1:9443'],
      transportPublicKey: hexKey(transport.publicKey),
      attestation,
    },
    transport,
  };
}

/** Polls `cond` every 20 ms until it holds, or fails the test after `timeoutMs`. */
export async function eventually(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await cond()) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) assert.fail(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
