// Bitcoin signing support for the node side: addresses of a key, and PSBT signing plans whose
// digests the enclave signs.
export * from './address.js';
export * from './network.js';
export * from './psbt.js';
