// How an error message may name something the caller sent (see quoteName).
/**
 * A caller's field or type name as an error message may show it: quoted when it is a plain
 * identifier of at most 64 characters (what the caller needs to find the mistake), else only
 * described, so that a message never carries arbitrary text the caller sent.
 */
export function quoteName(name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/.test(name) ? `"${name}"` : '(a name that is not an identifier)';
}
