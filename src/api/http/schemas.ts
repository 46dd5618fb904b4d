// JSON Schemas of the HTTP API: Fastify validates every request against them and the OpenAPI
// document at /openapi.json is generated from them, so the docs cannot drift from what is checked.
// They bound every size; the core re-checks meaning (lengths of decoded bytes, key validity).

import { ErrorCodes } from '../../errors.js';

const hex = (maxBytes: number, description: string) => ({
  type: 'string',
  pattern: '^0x([0-9a-fA-F]{2})*$',
  maxLength: 2 + maxBytes * 2,
  description,
});

export const ErrorSchema = {
  $id: 'Error',
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string', enum: [...ErrorCodes] }, message: { type: 'string' } },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
} as const;

/** Cluster mode: which nodes may hold a key (checked in full by src/cluster/placement.ts). */
const placement = {
  type: 'object',
  description: 'cluster only: {regions?: [..], minLevel?: n, replicas?: n}; default every node',
  properties: {
    regions: { type: 'array', items: { type: 'string', maxLength: 63 }, maxItems: 32 },
    minLevel: { type: 'integer' },
    replicas: { type: 'integer' },
  },
} as const;

export const KeySchema = {
  $id: 'Key',
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    algorithm: { type: 'string', enum: ['secp256k1', 'ed25519', 'p256'] },
    publicKey: { type: 'string', description: 'secp256k1/p256: 33-byte compressed SEC1; ed25519: 32 bytes' },
    addresses: { type: 'object', additionalProperties: { type: 'string' } },
    state: { type: 'string', enum: ['active', 'deactivated', 'compromised', 'destroyed'] },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    origin: { type: 'string', enum: ['generated', 'imported'] },
    hd: {
      type: 'boolean',
      description: 'an HD root: publicKey is the master (m) key; derive children by path',
    },
    fingerprint: {
      type: 'string',
      description: 'HD roots: master fingerprint, 0x + 4 bytes (BIP32; SLIP-10 for ed25519)',
    },
    xpub: { type: 'string', description: 'secp256k1 HD roots: the master extended public key' },
  },
  required: ['id', 'name', 'algorithm', 'publicKey', 'state', 'createdAt', 'labels'],
  // Later capabilities add fields (hd, policyId, placement, replicas); never strip them.
  additionalProperties: true,
} as const;

export const AuditEntrySchema = {
  $id: 'AuditEntry',
  type: 'object',
  properties: {
    seq: { type: 'integer' },
    time: { type: 'string' },
    node: { type: 'string' },
    actor: { type: 'string' },
    action: { type: 'string' },
    keyId: { type: 'string' },
    outcome: { type: 'string', enum: ['allowed', 'success', 'denied', 'error'] },
    requestId: { type: 'string' },
    details: { type: 'object', additionalProperties: true },
    hash: { type: 'string' },
    prevHash: { type: 'string' },
  },
  required: ['seq', 'time', 'node', 'actor', 'action', 'outcome', 'hash', 'prevHash'],
} as const;

export const sharedSchemas = [ErrorSchema, KeySchema, AuditEntrySchema];

const name = { type: 'string', minLength: 1, maxLength: 128 };
const labels = {
  type: 'object',
  maxProperties: 32,
  additionalProperties: { type: 'string', maxLength: 256 },
  propertyNames: { maxLength: 63 },
};
const algorithm = { type: 'string', enum: ['secp256k1', 'ed25519', 'p256'] };
const idParam = {
  type: 'object',
  properties: { id: { type: 'string', maxLength: 64 } },
  required: ['id'],
} as const;
const hdPath = {
  type: 'string',
  maxLength: 400,
  description:
    "HD roots: BIP32 path of the child key, e.g. m/44'/60'/0'/0/0 (' or h: hardened; m: the master)",
};

export const schemas = {
  createKey: {
    tags: ['keys'],
    summary: 'Create a key inside the enclave',
    body: {
      type: 'object',
      properties: {
        name,
        algorithm,
        labels,
        hd: {
          type: 'boolean',
          description: 'true: an HD root (secp256k1 or ed25519) with a fresh BIP39 mnemonic held inside',
        },
        placement,
      },
      required: ['name', 'algorithm'],
      additionalProperties: false,
    },
    response: {
      201: { $ref: 'Key#' },
    },
  },
  importKey: {
    tags: ['keys'],
    summary: 'Import a raw private key or a BIP39 mnemonic (sealed inside the enclave at once)',
    description: 'Exactly one of privateKey or mnemonic. A mnemonic makes an HD root (secp256k1 or ed25519).',
    body: {
      type: 'object',
      properties: {
        name,
        algorithm,
        labels,
        privateKey: hex(32, '32-byte private scalar or Ed25519 seed'),
        mnemonic: { type: 'string', maxLength: 1024, description: 'BIP39 English mnemonic, 12 to 24 words' },
        passphrase: {
          type: 'string',
          maxLength: 1024,
          description: 'optional BIP39 passphrase, with mnemonic',
        },
        placement,
      },
      required: ['name', 'algorithm'],
      additionalProperties: false,
    },
    response: {
      201: { $ref: 'Key#' },
    },
  },
  listKeys: {
    tags: ['keys'],
    summary: 'List keys',
    querystring: {
      type: 'object',
      properties: {
        name: { type: 'string', maxLength: 128 },
        state: { type: 'string', enum: ['active', 'deactivated', 'compromised', 'destroyed'] },
        limit: { type: 'string', pattern: '^[0-9]{1,4}$', description: '1 to 1000, default 100' },
        cursor: { type: 'string', maxLength: 64 },
      },
      additionalProperties: false,
    },
    response: {
      200: {
        type: 'object',
        properties: { keys: { type: 'array', items: { $ref: 'Key#' } }, nextCursor: { type: 'string' } },
        required: ['keys'],
      },
    },
  },
  getKey: {
    tags: ['keys'],
    summary: 'Get a key',
    params: idParam,
    response: { 200: { $ref: 'Key#' } },
  },
  sign: {
    tags: ['keys'],
    summary: 'Sign a 32-byte digest (ECDSA) or a message',
    params: idParam,
    body: {
      type: 'object',
      properties: {
        digest: hex(32, '32 bytes, signed as given (ECDSA only)'),
        message: hex(256 * 1024, 'SHA-256 then ECDSA; Ed25519 signs it as is'),
        path: hdPath,
      },
      additionalProperties: false,
    },
    response: {
      200: {
        type: 'object',
        properties: { signature: { type: 'string' }, recoveryId: { type: 'integer' } },
        required: ['signature'],
      },
    },
  },
  verify: {
    tags: ['keys'],
    summary: 'Verify a signature with a key',
    params: idParam,
    body: {
      type: 'object',
      properties: {
        digest: hex(32, '32 bytes (ECDSA only)'),
        message: hex(256 * 1024, 'the signed message'),
        signature: hex(64, '64 bytes r‖s (ECDSA) or an Ed25519 signature'),
        path: hdPath,
      },
      required: ['signature'],
      additionalProperties: false,
    },
    response: {
      200: { type: 'object', properties: { valid: { type: 'boolean' } }, required: ['valid'] },
    },
  },
  deriveKey: {
    tags: ['keys'],
    summary: "An HD root's child key at a path: public key, addresses, and for secp256k1 its xpub",
    params: idParam,
    querystring: {
      type: 'object',
      properties: { path: hdPath },
      required: ['path'],
      additionalProperties: false,
    },
    response: {
      200: {
        type: 'object',
        properties: {
          path: { type: 'string', description: "canonical form, ' for hardened steps" },
          publicKey: { type: 'string', description: 'secp256k1: 33-byte compressed; ed25519: 32 bytes' },
          addresses: {
            type: 'object',
            description:
              'secp256k1: ethereum (EIP-55), and bitcoin / testnet / regtest each with p2wpkh and p2tr (BIP86)',
            additionalProperties: true,
          },
          xpub: { type: 'string', description: "secp256k1: this child's extended public key" },
        },
        required: ['path', 'publicKey', 'addresses'],
      },
    },
  },
  setState: {
    tags: ['keys'],
    summary: 'Deactivate, reactivate or mark a key compromised',
    params: idParam,
    body: {
      type: 'object',
      properties: { state: { type: 'string', enum: ['active', 'deactivated', 'compromised'] } },
      required: ['state'],
      additionalProperties: false,
    },
    response: {
      200: { $ref: 'Key#' },
    },
  },
  destroyKey: {
    tags: ['keys'],
    summary: 'Destroy a key: its private material is erased; a tombstone remains',
    params: idParam,
    response: {
      200: { $ref: 'Key#' },
    },
  },
  createToken: {
    tags: ['tokens'],
    summary: 'Create an API token (shown once)',
    body: {
      type: 'object',
      properties: {
        name,
        scopes: {
          type: 'array',
          minItems: 1,
          maxItems: 6,
          items: {
            type: 'string',
            enum: ['admin', 'keys:read', 'keys:create', 'keys:sign', 'keys:manage', 'audit:read'],
          },
        },
        keyIds: { type: 'array', maxItems: 1000, items: { type: 'string', maxLength: 64 } },
        ttlSeconds: { type: 'integer', minimum: 1, maximum: 315360000 },
      },
      required: ['name', 'scopes'],
      additionalProperties: false,
    },
    response: {
      201: {
        type: 'object',
        properties: { id: { type: 'string' }, token: { type: 'string' } },
        required: ['id', 'token'],
      },
    },
  },
  listTokens: {
    tags: ['tokens'],
    summary: 'List tokens (never their secrets)',
    response: {
      200: {
        type: 'object',
        properties: {
          tokens: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                id: { type: 'string' },
                name: { type: 'string' },
                scopes: { type: 'array', items: { type: 'string' } },
                keyIds: { type: ['array', 'null'], items: { type: 'string' } },
                createdAt: { type: 'string' },
                expiresAt: { type: ['string', 'null'] },
              },
            },
          },
        },
        required: ['tokens'],
      },
    },
  },
  revokeToken: {
    tags: ['tokens'],
    summary: 'Revoke a token at once',
    params: idParam,
    response: {
      204: { type: 'null', description: 'Revoked' },
    },
  },
  listAudit: {
    tags: ['audit'],
    summary: 'Read the audit log',
    querystring: {
      type: 'object',
      properties: {
        after: { type: 'string', pattern: '^[0-9]{1,15}$', description: 'sequence number; entries after it' },
        limit: { type: 'string', pattern: '^[0-9]{1,4}$', description: '1 to 1000, default 100' },
      },
      additionalProperties: false,
    },
    response: {
      200: {
        type: 'object',
        properties: { entries: { type: 'array', items: { $ref: 'AuditEntry#' } } },
        required: ['entries'],
      },
    },
  },
  health: {
    tags: ['system'],
    summary: 'Liveness; needs no token',
    response: {
      200: {
        type: 'object',
        properties: { status: { type: 'string' }, nodeId: { type: 'string' }, version: { type: 'string' } },
        required: ['status', 'nodeId', 'version'],
      },
    },
  },
} as const;
