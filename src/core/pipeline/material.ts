// The pipeline's last check before the enclave is asked: the key's material, named
// (keys/record.ts KeyMaterial), becomes the enclave's reference, and a replica is used only while
// this node is live in the cluster (a node whose lease lapsed may have been fenced: it signs nothing
// until it is back). Routing (route.ts) already sent the call to a live holder; this is the rule
// at the moment of use, which routing's view cannot promise.
import type { SealedKeyRef } from '../../enclave/enclave.js';
import { KeymeshError, notFound } from '../../errors.js';
import { fromBase64 } from '../../util/bytes.js';
import type { LoadedKey } from '../keys/record.js';

export function materialRef({ record, material }: LoadedKey): SealedKeyRef {
  const base = { keyId: record.id, version: record.version, algorithm: record.algorithm };
  switch (material.kind) {
    case 'destroyed':
      throw notFound('key material');
    case 'none':
      throw new KeymeshError('NO_LIVE_REPLICA', 'This node holds no replica of this key.');
    case 'sealed':
      return { ...base, sealed: fromBase64(material.blob) };
    case 'replica':
      if (!material.holder.isLive())
        throw new KeymeshError('NO_LIVE_REPLICA', 'This node is not live in the cluster; it does not sign.');
      return { ...base, sealed: fromBase64(material.blob), replica: true };
  }
}
