// A development cluster's CA (`keymesh start --dev --cluster ...` without `--cluster-dir`): so that
// the contract's flags alone (--cluster, --node-id, --region, --level) start a working cluster on
// one machine, the first dev node makes a CA and keeps it, key included, in etcd under
// `cluster/dev-ca` (created by compare-and-set, so nodes starting together agree on one); each dev
// node then issues itself a peer certificate granting the region and level it was started with.
//
// Development only, as `--dev` says: whoever can read etcd holds this CA and can admit any node
// at any level. A production cluster uses `keymesh cluster init/add-node` and `--cluster-dir`,
// where only the operator holds the CA key (src/cli/commands/cluster.ts).
import { X509Certificate } from 'node:crypto';
import { grantUris } from '../enclave/crypto/attestation.js';
import { KeymeshError } from '../errors.js';
import type { EtcdStore } from '../store/etcd.js';
import { createCa, issueServerCert, type CertificateAuthority } from '../tls/certs.js';
import type { PeerTls } from './forward.js';
import { ClusterLayout } from '../store/layout.js';

export const DEV_CA_KEY = ClusterLayout.devCa;

export interface ClusterTls {
  /** The CA certificate (PEM) peers and attestations are checked against. */
  ca: string;
  peer: PeerTls;
  /** When the node's certificate expires (ms since the epoch). */
  validTo: number;
}

function parseCa(value: string): CertificateAuthority {
  try {
    const v = JSON.parse(value) as { certPem?: unknown; keyPem?: unknown };
    if (typeof v.certPem === 'string' && typeof v.keyPem === 'string')
      return { certPem: v.certPem, keyPem: v.keyPem };
  } catch {
    // reported below
  }
  throw new KeymeshError('INVALID_REQUEST', `${DEV_CA_KEY} in etcd is not a development CA`);
}

export async function devClusterTls(
  store: EtcdStore,
  node: { id: string; region: string; level: number },
): Promise<ClusterTls> {
  let entry = await store.get(DEV_CA_KEY);
  if (!entry) {
    const made = await createCa({ commonName: 'Keymesh development cluster CA', organization: 'Keymesh' });
    // Losing the race is fine: the winner's CA is read back below.
    await store.txn(
      [{ key: DEV_CA_KEY, modRevision: 0 }],
      [{ type: 'put', key: DEV_CA_KEY, value: JSON.stringify(made) }],
    );
    entry = await store.get(DEV_CA_KEY);
    if (!entry) throw new KeymeshError('UNAVAILABLE', 'the development cluster CA could not be stored');
  }
  const ca = parseCa(entry.value);
  const cert = await issueServerCert(ca, {
    commonName: node.id,
    clientAuth: true,
    uris: grantUris(node.region, node.level),
  });
  return {
    ca: ca.certPem,
    peer: { ca: ca.certPem, cert: cert.certPem, key: cert.keyPem },
    validTo: Date.parse(new X509Certificate(cert.certPem).validTo),
  };
}
