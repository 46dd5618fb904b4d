// Replicas in the worker: wrapping a key's material to other nodes, each recipient's attestation
// verified against the cluster CA and the placement constraint first (one that fails refuses the
// whole call).
import { invalid, KeymeshError } from '../../../errors.js';
import type { NewKey, SealedKeyRef, WrappedReplica, WrapRequest } from '../../enclave.js';
import { verifyAttestation } from '../../crypto/attestation.js';
import type { SealBinding } from '../../crypto/seal.js';
import { wrapToNode } from '../../crypto/wrap.js';
import { checkRef, openMaterial } from './open.js';
import { cluster } from './transport.js';

function checkWrapRequest(req: WrapRequest): void {
  if (
    req === null ||
    typeof req !== 'object' ||
    !Array.isArray(req.recipients) ||
    req.recipients.length === 0
  )
    throw invalid('replicas.recipients must be a non-empty list');
  if (req.recipients.length > 64) throw invalid('at most 64 replica recipients');
  const seen = new Set<string>();
  for (const r of req.recipients) {
    if (r === null || typeof r !== 'object' || typeof r.nodeId !== 'string')
      throw invalid('each replica recipient needs a nodeId and an attestation');
    if (seen.has(r.nodeId)) throw invalid('a replica recipient is named twice');
    seen.add(r.nodeId);
  }
}

/**
 * Wrap `kind ‖ body` to every recipient, after verifying each one's attestation against the cluster
 * CA (and its attested region and level against the constraint): all are checked before any is
 * wrapped, and one that fails refuses the whole call. The caller wipes `body`.
 */
export function wrapAll(
  binding: SealBinding,
  kind: number,
  body: Uint8Array,
  req: WrapRequest,
): WrappedReplica[] {
  const c = cluster();
  checkWrapRequest(req);
  const targets = req.recipients.map((r) => {
    const st = verifyAttestation(r.attestation, c.ca, { nodeId: r.nodeId });
    const k = req.constraint;
    if (k?.regions !== undefined && !k.regions.includes(st.region))
      throw new KeymeshError(
        'FORBIDDEN',
        'a replica recipient is attested for a region outside the placement',
        {
          details: { reason: 'region', nodeId: r.nodeId },
        },
      );
    if (k?.minLevel !== undefined && st.level < k.minLevel)
      throw new KeymeshError('FORBIDDEN', 'a replica recipient is attested below the placement level', {
        details: { reason: 'level', nodeId: r.nodeId },
      });
    return { nodeId: r.nodeId, transportPublicKey: st.transportPublicKey };
  });
  const plaintext = new Uint8Array(1 + body.length);
  plaintext[0] = kind;
  plaintext.set(body, 1);
  try {
    return targets.map((t) => ({
      nodeId: t.nodeId,
      transportPublicKey: t.transportPublicKey,
      wrapped: wrapToNode(plaintext, new Uint8Array(Buffer.from(t.transportPublicKey.slice(2), 'hex')), {
        ...binding,
        nodeId: t.nodeId,
      }),
    }));
  } finally {
    plaintext.fill(0);
  }
}

/** Add the replicas asked for to a key just sealed (its material is still in hand). */
export function withReplicas(
  made: NewKey,
  binding: SealBinding,
  kind: number,
  body: Uint8Array,
  req: WrapRequest | undefined,
): NewKey {
  if (req === undefined) return made;
  return { ...made, replicas: wrapAll(binding, kind, body, req) };
}

export function wrapOp(args: { key: SealedKeyRef; req: WrapRequest }): WrappedReplica[] {
  checkRef(args.key);
  checkWrapRequest(args.req); // before anything is opened
  const { kind, body } = openMaterial(args.key);
  try {
    return wrapAll(args.key, kind, body, args.req);
  } finally {
    body.fill(0);
  }
}
