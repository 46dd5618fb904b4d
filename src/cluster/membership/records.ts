// The records membership keeps in etcd (cluster/nodes/<id>, leased, and cluster/members/<id>,
// persistent; layout in ../membership.ts): their shape, the validation every record read back from
// etcd goes through (a malformed one is left out, like any bad input), and checking a record's
// attestation for its node id, transport key, region and level.
import type { KeyObject } from 'node:crypto';
import { invalid } from '../../errors.js';
import {
  verifyAttestation,
  type Attestation,
  type AttestationStatement,
} from '../../enclave/crypto/attestation.js';
import { checkLevel, checkNodeId, checkRegion, parsePeerEndpoint } from '../ids.js';

export const MAX_ENDPOINTS = 8;
const PUB_RE = /^0x[0-9a-f]{64}$/;

/** What a node announces about itself. */
export interface NodeRegistration {
  id: string;
  region: string;
  level: number;
  /** Peer endpoints for forwarded calls: https://host:port (mutual TLS), 1..8. */
  endpoints: string[];
  /** X25519 transport public key, 0x + 64 lowercase hex digits. */
  transportPublicKey: string;
  attestation: Attestation;
}

/** cluster/nodes/<id>: leased. */
export interface NodeRecord extends NodeRegistration {
  /** When this node process started (ISO 8601). */
  startedAt: string;
  registeredAt: string;
  /** The etcd lease (decimal id) this record is attached to: what a fencing peer revokes. */
  lease: string;
  /** The TTL the node counts its own liveness with: a fencer waits this long after revoking. */
  leaseTtlSeconds: number;
}

/** cluster/members/<id>: persistent. */
export interface MemberRecord extends NodeRegistration {
  joinedAt: string;
  updatedAt: string;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkEndpoints(v: unknown): string[] {
  if (!Array.isArray(v) || v.length < 1 || v.length > MAX_ENDPOINTS)
    throw invalid(`endpoints must list 1 to ${MAX_ENDPOINTS} https URLs`);
  return v.map((e) => `https://${parsePeerEndpoint(e).host}`);
}

/** Validates what a node announces (INVALID_REQUEST naming the field). */
export function checkRegistration(r: unknown): NodeRegistration {
  if (!isPlainObject(r)) throw invalid('a node registration must be an object');
  const transportPublicKey = r.transportPublicKey;
  if (typeof transportPublicKey !== 'string' || !PUB_RE.test(transportPublicKey))
    throw invalid('transportPublicKey must be 0x and 64 lowercase hex digits');
  if (!isPlainObject(r.attestation)) throw invalid('attestation must be an object');
  return {
    id: checkNodeId(r.id),
    region: checkRegion(r.region),
    level: checkLevel(r.level),
    endpoints: checkEndpoints(r.endpoints),
    transportPublicKey,
    attestation: r.attestation as unknown as Attestation,
  };
}

function isIsoTime(v: unknown): v is string {
  return typeof v === 'string' && v.length <= 40 && !Number.isNaN(Date.parse(v));
}

/** A NodeRecord from etcd, or undefined when malformed (the caller reports it). */
export function parseNodeRecord(json: string, expectId: string): NodeRecord | undefined {
  try {
    const v = JSON.parse(json) as Record<string, unknown>;
    const reg = checkRegistration(v);
    if (reg.id !== expectId) return undefined;
    if (!isIsoTime(v.startedAt) || !isIsoTime(v.registeredAt)) return undefined;
    if (typeof v.lease !== 'string' || !/^[1-9][0-9]{0,18}$/.test(v.lease)) return undefined;
    if (
      !Number.isInteger(v.leaseTtlSeconds) ||
      (v.leaseTtlSeconds as number) < 1 ||
      (v.leaseTtlSeconds as number) > 3600
    )
      return undefined;
    return {
      ...reg,
      startedAt: v.startedAt,
      registeredAt: v.registeredAt,
      lease: v.lease,
      leaseTtlSeconds: v.leaseTtlSeconds as number,
    };
  } catch {
    return undefined;
  }
}

export function parseMemberRecord(json: string, expectId: string): MemberRecord | undefined {
  try {
    const v = JSON.parse(json) as Record<string, unknown>;
    const reg = checkRegistration(v);
    if (reg.id !== expectId) return undefined;
    if (!isIsoTime(v.joinedAt) || !isIsoTime(v.updatedAt)) return undefined;
    return { ...reg, joinedAt: v.joinedAt, updatedAt: v.updatedAt };
  } catch {
    return undefined;
  }
}

/** The attested statement of a registration, or undefined when it does not verify. */
export function attestedStatement(
  reg: NodeRegistration,
  ca: string | KeyObject,
  now = Date.now(),
): AttestationStatement | undefined {
  try {
    return verifyAttestation(reg.attestation, ca, {
      nodeId: reg.id,
      transportPublicKey: reg.transportPublicKey,
      region: reg.region,
      level: reg.level,
      now,
    });
  } catch {
    return undefined;
  }
}
