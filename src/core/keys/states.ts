// Key states and their transitions, after NIST SP 800-57 part 1 §5.3 and KMIP's object states:
// a compromised key never returns to use, and a destroyed key never comes back. The one table
// every interface's state change goes through.
import { KeymeshError } from '../../errors.js';

export const KeyStates = ['active', 'deactivated', 'compromised', 'destroyed'] as const;
export type KeyState = (typeof KeyStates)[number];

const TRANSITIONS: Readonly<Record<KeyState, readonly KeyState[]>> = Object.freeze({
  active: ['deactivated', 'compromised', 'destroyed'],
  deactivated: ['active', 'compromised', 'destroyed'],
  compromised: ['destroyed'],
  destroyed: [],
});

/** What each state permits. Verification needs only the public key, so it outlives signing. */
const USES: Readonly<Record<KeyState, readonly ('sign' | 'verify' | 'derive')[]>> = Object.freeze({
  active: ['sign', 'verify', 'derive'],
  deactivated: ['verify', 'derive'],
  compromised: ['verify', 'derive'],
  destroyed: [],
});

export function assertTransition(from: KeyState, to: KeyState): void {
  if (!TRANSITIONS[from].includes(to))
    throw new KeymeshError('INVALID_STATE', `A ${from} key cannot become ${to}.`, { details: { from, to } });
}

export function assertUsable(state: KeyState, use: 'sign' | 'verify' | 'derive'): void {
  if (!USES[state].includes(use))
    throw new KeymeshError('INVALID_STATE', `A ${state} key cannot ${use}.`, { details: { state } });
}
