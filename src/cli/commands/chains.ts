// keymesh ethereum transaction|message|typed-data and keymesh bitcoin psbt: wallet signing through
// a node (POST /v1/keys/{id}/ethereum/*, /bitcoin/psbt). The node encodes, hashes and audits
// what it signs; the CLI only assembles the request. Transaction fields are a table: flag → the
// JSON-RPC field it fills, so --help, parsing and the request body come from the same rows.
import { BITCOIN_NETWORKS } from '../../chains/bitcoin/network.js';
import { type Command, type Flag, type Group, type Values, str } from '../args.js';
import { CliError, EXIT, makeClient } from '../client.js';
import { printJson, printObject } from '../output.js';
import { readInput, withPath } from './keys.js';

const ID = { name: 'ID', help: 'the key id (secp256k1)' };
const PATH: Flag = {
  type: 'string',
  arg: 'PATH',
  help: "HD roots: the child that signs, e.g. m/44'/60'/0'/0/0",
};
const keyPath = (id: string, rest: string) => `/v1/keys/${encodeURIComponent(id)}${rest}`;

/** Transaction flags and the field of the JSON-RPC transaction request each one fills. */
const TX_FIELDS: readonly (readonly [flag: string, field: string, help: string])[] = [
  ['chain-id', 'chainId', 'chain id (required: a signature for one chain must not replay on another)'],
  ['nonce', 'nonce', "the sender's nonce (required)"],
  ['gas', 'gas', 'gas limit (required)'],
  ['to', 'to', 'recipient address (omit to deploy a contract)'],
  ['value', 'value', 'wei to send'],
  ['data', 'data', 'call data, 0x-hex'],
  ['max-fee-per-gas', 'maxFeePerGas', 'EIP-1559 fee cap, wei'],
  ['max-priority-fee-per-gas', 'maxPriorityFeePerGas', 'EIP-1559 tip, wei'],
  ['gas-price', 'gasPrice', 'legacy or EIP-2930 gas price, wei'],
  ['type', 'type', 'transaction type (default: inferred from the fee fields)'],
];

const txFlags: Record<string, Flag> = {
  'tx-file': {
    type: 'string',
    arg: 'FILE|-',
    help: 'a JSON transaction request (accessList, blobs, authorizationList...); the flags below override it',
  },
  ...Object.fromEntries(
    TX_FIELDS.map(([flag, , help]) => [
      flag,
      { type: 'string', arg: flag === 'to' ? 'ADDRESS' : 'N', help } as Flag,
    ]),
  ),
};

function transactionOf(v: Values): Record<string, unknown> {
  let tx: Record<string, unknown> = {};
  const file = str(v['tx-file']);
  if (file !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readInput(file, 'transaction'));
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw new CliError('--tx-file does not hold JSON', EXIT.usage, 'USAGE');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new CliError('--tx-file must hold a JSON object', EXIT.usage, 'USAGE');
    tx = parsed as Record<string, unknown>;
  }
  for (const [flag, field] of TX_FIELDS) if (str(v[flag]) !== undefined) tx[field] = str(v[flag]);
  return tx;
}

function show(v: Values, res: Record<string, unknown>): void {
  if (v.json) return printJson(res);
  printObject(res);
}

const ethereum: Command[] = [
  {
    name: 'transaction',
    summary: 'Sign an Ethereum transaction; prints the raw transaction, ready to broadcast.',
    positionals: [ID],
    flags: { ...txFlags, path: PATH },
    async run({ values: v, positionals: [id] }) {
      const body = withPath({ transaction: transactionOf(v) }, v);
      show(v, await makeClient(v).request('POST', keyPath(id!, '/ethereum/transaction'), body));
    },
  },
  {
    name: 'message',
    summary: 'Sign an EIP-191 personal message (personal_sign); prints the 65-byte signature.',
    positionals: [ID],
    flags: {
      'message-text': { type: 'string', arg: 'TEXT', help: 'the message as UTF-8 text' },
      message: { type: 'string', arg: '0xHEX', help: 'the message bytes' },
      path: PATH,
    },
    async run({ values: v, positionals: [id] }) {
      const text = str(v['message-text']);
      const bytes = str(v.message);
      if ((text === undefined) === (bytes === undefined))
        throw new CliError('give exactly one of --message-text or --message', EXIT.usage, 'USAGE');
      // Text goes as hex: the node reads a 0x-prefixed string as bytes, so text that happened to
      // start with 0x would otherwise be signed as something else.
      const message = bytes ?? '0x' + Buffer.from(text!, 'utf8').toString('hex');
      show(
        v,
        await makeClient(v).request('POST', keyPath(id!, '/ethereum/message'), withPath({ message }, v)),
      );
    },
  },
  {
    name: 'typed-data',
    summary: 'Sign EIP-712 typed data (eth_signTypedData_v4); prints the 65-byte signature.',
    positionals: [ID],
    flags: {
      file: {
        type: 'string',
        arg: 'FILE|-',
        required: true,
        help: 'the typed data as JSON: {types, primaryType, domain, message}',
      },
      path: PATH,
    },
    async run({ values: v, positionals: [id] }) {
      let typedData: unknown;
      try {
        typedData = JSON.parse(readInput(str(v.file)!, 'typed data'));
      } catch (e) {
        if (e instanceof CliError) throw e;
        throw new CliError('--file does not hold JSON', EXIT.usage, 'USAGE');
      }
      show(
        v,
        await makeClient(v).request('POST', keyPath(id!, '/ethereum/typed-data'), withPath({ typedData }, v)),
      );
    },
  },
];

const bitcoin: Command[] = [
  {
    name: 'psbt',
    summary: 'Sign every input of a PSBT that this key (or HD root) can sign.',
    positionals: [ID],
    flags: {
      psbt: { type: 'string', arg: 'BASE64', help: 'the PSBT' },
      'psbt-file': { type: 'string', arg: 'FILE|-', help: 'read the base64 PSBT from FILE' },
      network: { type: 'string', arg: 'NET', required: true, choices: BITCOIN_NETWORKS, help: 'the network' },
      path: PATH,
    },
    async run({ values: v, positionals: [id] }) {
      const inline = str(v.psbt);
      const file = str(v['psbt-file']);
      if ((inline === undefined) === (file === undefined))
        throw new CliError('give exactly one of --psbt or --psbt-file', EXIT.usage, 'USAGE');
      const psbt = inline ?? readInput(file!, 'PSBT');
      const body = withPath({ psbt, network: v.network }, v);
      show(v, await makeClient(v).request('POST', keyPath(id!, '/bitcoin/psbt'), body));
    },
  },
];

export const ethereumGroup: Group = {
  name: 'ethereum',
  summary: 'Ethereum signing with a secp256k1 key: transactions, personal messages, EIP-712.',
  commands: ethereum,
};

export const bitcoinGroup: Group = {
  name: 'bitcoin',
  summary: 'Bitcoin signing with a secp256k1 key: PSBTs (BIP174).',
  commands: bitcoin,
};
