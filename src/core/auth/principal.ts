// Who is asking, as the core receives it: a transport-free principal that each adapter builds from
// what its wire carries (a bearer header, a session cookie, a TLS client certificate, the peer
// channel). Authentication is one module per kind (authenticate.ts's table); authorisation, for
// every kind, is scopes.ts. The audit actor names the principal (Caller.actor).
export type Principal =
  /** Nothing presented. */
  | { kind: 'anonymous' }
  /** An API token, as presented (a secret: never logged, never audited). */
  | { kind: 'token'; token: string }
  /**
   * A cluster node, proven by the peer channel's mutual TLS (src/cluster/peer-channel.ts), running
   * a call for the token with id `tokenId`, which that node authenticated. The token's secret never
   * crosses: this node loads the token's record itself, so a revoked or expired token is refused
   * here too, and the node adds no rights: the token's scopes and keys are checked again here.
   */
  | { kind: 'peer'; nodeId: string; tokenId: string }
  /** The next issue's user session (console): no authenticator yet, so refused. */
  | { kind: 'session'; sessionId: string }
  /** A KMIP client's certificate, proven by TLS: no authenticator yet, so refused. */
  | { kind: 'client-cert'; subject: string; fingerprint: string };

export type PrincipalKind = Principal['kind'];

/** The principal an adapter builds from an optional bearer token. */
export function fromBearer(token: string | undefined): Principal {
  return token === undefined ? { kind: 'anonymous' } : { kind: 'token', token };
}
