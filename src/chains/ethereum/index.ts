// Ethereum signing support for the node side: parse what callers send, compute the digest the
// enclave signs, and assemble what the chain (or the dapp) expects from the enclave's signature.
export * from './address.js';
export * from './fields.js';
export * from './message.js';
export * from './signature.js';
export * from './transaction.js';
export * from './typed-data.js';
