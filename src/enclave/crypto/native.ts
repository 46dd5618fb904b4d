// Loads libsecp256k1 through the secp256k1 package's native binding, and never its `elliptic`
// JavaScript fallback: `secp256k1/bindings` fails loudly when the addon is missing instead of
// silently switching to a slower implementation with a different security history.
// Types come from @types/secp256k1, which describes the same API for both entry points.
import { getRandomValues } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as Secp256k1Api from 'secp256k1';

const require = createRequire(import.meta.url);

export type NativeSecp256k1 = typeof Secp256k1Api;

export const nativeSecp256k1 = require('secp256k1/bindings') as NativeSecp256k1;

// libsecp256k1 blinds its signing context with a random seed when asked (secp256k1_context_randomize),
// a cheap defence against side channels in the generator multiplication; the addon never asks.
nativeSecp256k1.contextRandomize(getRandomValues(new Uint8Array(32)));
