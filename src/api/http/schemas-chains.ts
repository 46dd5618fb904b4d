// JSON Schemas of the wallet-signing routes (/v1/keys/{id}/ethereum/*, /v1/keys/{id}/bitcoin/psbt).
// They describe shapes and bound sizes for the OpenAPI document; what a transaction, typed data or
// PSBT means is checked by the chain libraries in the core, which name the offending field.

const idParam = {
  type: 'object',
  properties: { id: { type: 'string', maxLength: 64 } },
  required: ['id'],
} as const;

const path = {
  type: 'string',
  maxLength: 400,
  description: "HD keys only: BIP32 path of the child that signs, e.g. m/44'/60'/0'/0/0",
};

const quantity = {
  type: ['string', 'integer'],
  maxLength: 80,
  description: 'decimal string, 0x-hex, or a JSON integer up to 2^53 - 1',
};
const data = { type: 'string', maxLength: 2 + 2 * 128 * 1024, description: '0x-hex bytes' };
const address = {
  type: 'string',
  maxLength: 42,
  description: '20-byte 0x-hex address (EIP-55 if mixed case)',
};

const transaction = {
  type: 'object',
  description:
    'An Ethereum JSON-RPC transaction request. chainId, nonce and gas are required; the type is inferred ' +
    'from the fee fields when absent.',
  properties: {
    type: { type: ['string', 'integer'], maxLength: 8, description: '0x0 legacy, 0x1, 0x2, 0x3, 0x4' },
    chainId: quantity,
    nonce: quantity,
    from: { ...address, description: "optional; must be this key's address" },
    to: { type: ['string', 'null'], maxLength: 42 },
    value: quantity,
    gas: quantity,
    gasLimit: quantity,
    gasPrice: quantity,
    maxFeePerGas: quantity,
    maxPriorityFeePerGas: quantity,
    maxFeePerBlobGas: quantity,
    data,
    input: data,
    accessList: { type: 'array', maxItems: 1000 },
    blobVersionedHashes: { type: 'array', maxItems: 16 },
    authorizationList: { type: 'array', maxItems: 256 },
  },
  // chainId is required, but by the core, whose refusal says why (replay on another chain).
  maxProperties: 32,
};

const rsv = {
  200: {
    type: 'object',
    properties: { signature: { type: 'string', description: '0x, 65 bytes r‖s‖v with v 27 or 28' } },
    required: ['signature'],
  },
};

export const chainSchemas = {
  ethereumTransaction: {
    tags: ['ethereum'],
    summary: 'Sign an Ethereum transaction (legacy EIP-155, EIP-2930, EIP-1559, EIP-4844, EIP-7702)',
    params: idParam,
    body: {
      type: 'object',
      properties: { transaction, path },
      required: ['transaction'],
      additionalProperties: false,
    },
    response: {
      200: {
        type: 'object',
        properties: {
          rawTransaction: {
            type: 'string',
            description: 'the signed transaction, ready for eth_sendRawTransaction',
          },
          hash: { type: 'string', description: 'its transaction hash' },
          from: { type: 'string', description: 'EIP-55 address of the signer' },
        },
        required: ['rawTransaction', 'hash', 'from'],
      },
    },
  },
  ethereumMessage: {
    tags: ['ethereum'],
    summary: 'Sign an EIP-191 personal message (personal_sign)',
    params: idParam,
    body: {
      type: 'object',
      properties: {
        message: {
          type: 'string',
          maxLength: 3 * 128 * 1024,
          description: 'text (UTF-8), or bytes as 0x-hex',
        },
        path,
      },
      required: ['message'],
      additionalProperties: false,
    },
    response: {
      ...rsv,
    },
  },
  ethereumTypedData: {
    tags: ['ethereum'],
    summary: 'Sign EIP-712 typed data (eth_signTypedData_v4)',
    params: idParam,
    body: {
      type: 'object',
      properties: {
        typedData: {
          type: ['object', 'string'],
          description: '{types, primaryType, domain, message}, or its JSON text',
        },
        path,
      },
      required: ['typedData'],
      additionalProperties: false,
    },
    response: {
      ...rsv,
    },
  },
  bitcoinPsbt: {
    tags: ['bitcoin'],
    summary: 'Sign every input of a BIP174 PSBT this key can sign',
    params: idParam,
    body: {
      type: 'object',
      properties: {
        psbt: { type: 'string', maxLength: 1024 * 1024, description: 'base64' },
        network: { type: 'string', enum: ['bitcoin', 'testnet', 'regtest'] },
        path,
      },
      required: ['psbt', 'network'],
      additionalProperties: false,
    },
    response: {
      200: {
        type: 'object',
        properties: {
          psbt: { type: 'string', description: 'base64, with this key’s signatures added' },
          signedInputs: { type: 'array', items: { type: 'integer' } },
        },
        required: ['psbt', 'signedInputs'],
      },
    },
  },
} as const;
