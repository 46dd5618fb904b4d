// The store's key layout: the one place that says under which key each kind of record lives, for
// the single-node SQLite store and the cluster's etcd alike. Everything else names a key through
// these functions, never by writing its prefix: a prefix written twice can drift, and a listing
// under a prefix that no longer matches its writer finds nothing and says nothing.
//
//   keys/<keyId>                          key record (core/keys/record.ts)
//   keynames/<sha256(name)>               name reservation → key id
//   tokens/<tokenId>                      token record, secret hashed (core/tokens/record.ts)
//   replicas/<keyId>/<nodeId>             a node's wrapped copy of a key (cluster/replicas.ts)
//   hdaddr/<rootId>/<address>             an Ethereum address an HD root derived (core/keys/accounts.ts)
//   ethaddr/<address>/<rootId>            the reverse index of those addresses
//   cluster/nodes/<nodeId>                leased liveness record (cluster/membership.ts)
//   cluster/members/<nodeId>              persistent membership record
//   cluster/acks/<keyId>/<rev>/<nodeId>   a holder's acknowledgement of a state change (fencing.ts)
//   cluster/dev-ca                        the --dev cluster's CA (cluster/dev-ca.ts)
//   system/bootstrap                      the marker of the cluster's admin token (node.ts)
//   system/integrity                      the cluster integrity key's check value (cluster/integrity.ts)
//   system/integrity-copies/<nodeId>      that key wrapped to one node's enclave
import { createHash } from 'node:crypto';

export const KEYS_PREFIX = 'keys/';
export const keyKey = (id: string): string => `${KEYS_PREFIX}${id}`;

/** Name index. Hashed so that any name fits the store's key-length bound. */
export const nameKey = (name: string): string =>
  `keynames/${createHash('sha256').update(name, 'utf8').digest('hex')}`;

export const TOKENS_PREFIX = 'tokens/';
export const tokenKey = (id: string): string => `${TOKENS_PREFIX}${id}`;

export const REPLICAS_PREFIX = 'replicas/';
/** Every replica of one key. */
export const replicasOf = (keyId: string): string => `${REPLICAS_PREFIX}${keyId}/`;
export const replicaKey = (keyId: string, nodeId: string): string => `${replicasOf(keyId)}${nodeId}`;
/** The key id and node id of a replica record's key, if it is one. */
export function parseReplicaKey(key: string): { keyId: string; nodeId: string } | undefined {
  if (!key.startsWith(REPLICAS_PREFIX)) return undefined;
  const [keyId, nodeId, ...rest] = key.slice(REPLICAS_PREFIX.length).split('/');
  return keyId && nodeId && rest.length === 0 ? { keyId, nodeId } : undefined;
}

export const HD_ADDRESSES_PREFIX = 'hdaddr/';
/** The addresses HD root `keyId` derived. */
export const hdAddressesOf = (keyId: string): string => `${HD_ADDRESSES_PREFIX}${keyId}/`;
export const hdAddressKey = (keyId: string, address: string): string =>
  `${hdAddressesOf(keyId)}${address.toLowerCase()}`;
/** The roots that derived `address`. */
export const ethAddressIndexOf = (address: string): string => `ethaddr/${address.toLowerCase()}/`;
export const ethAddressIndexKey = (address: string, keyId: string): string =>
  `${ethAddressIndexOf(address)}${keyId}`;

/** The cluster's records (etcd only). */
export const ClusterLayout = {
  /** Leased liveness record of a node: present exactly while its lease is held. */
  nodesPrefix: 'cluster/nodes/',
  node: (id: string) => `cluster/nodes/${id}`,
  /** Persistent membership record (no lease): a node known to the cluster, live or not. */
  membersPrefix: 'cluster/members/',
  member: (id: string) => `cluster/members/${id}`,
  /** Every acknowledgement of one key's state changes. */
  acksOf: (keyId: string) => `cluster/acks/${keyId}/`,
  /** Acknowledgements of a key's state change at a revision, one per holder, leased to the holder. */
  acksPrefix: (keyId: string, revision: number) => `cluster/acks/${keyId}/${revision}/`,
  ack: (keyId: string, revision: number, nodeId: string) => `cluster/acks/${keyId}/${revision}/${nodeId}`,
  devCa: 'cluster/dev-ca',
} as const;

export const BOOTSTRAP_KEY = 'system/bootstrap';

/** The cluster integrity key in etcd: its marker and each node's wrapped copy (etcd only). */
export const IntegrityLayout = {
  marker: 'system/integrity',
  copiesPrefix: 'system/integrity-copies/',
  copy: (nodeId: string) => `system/integrity-copies/${nodeId}`,
} as const;
