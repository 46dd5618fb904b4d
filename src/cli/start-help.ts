// `keymesh start --help`: generated from the option table start.ts parses with, so every flag the
// parser takes is listed; the descriptions below are looked up by flag name (a flag without one
// is still listed, with its value name).
const HELP: Record<string, readonly [arg: string, help: string]> = {
  dev: ['', 'development: a random sealing key in DIR/dev-sealing.key, loopback only'],
  'data-dir': ['DIR', 'where keys, tokens and the audit log live (default ./.keymesh)'],
  http: ['HOST:PORT', 'HTTP listener (default 127.0.0.1:8520; port 0: a free one)'],
  kmip: ['HOST:PORT', 'KMIP listener (default off)'],
  'node-id': ['ID', "this node's id (default: generated once, kept in DIR)"],
  'unseal-passphrase-file': ['FILE', 'the unseal passphrase (without --dev; else asked at a terminal)'],
  'tls-cert': ['FILE', 'PEM certificate: serve HTTPS (needed off loopback)'],
  'tls-key': ['FILE', 'PEM private key of --tls-cert'],
  'log-level': ['LEVEL', 'how much to log (JSON lines on stderr)'],
  'enclave-threads': ['N', 'enclave worker threads'],
  cluster: ['etcd://HOST:PORT,...', 'join the cluster kept in these etcd members'],
  region: ['R', "cluster: this node's region (as its certificate grants)"],
  level: ['N', "cluster: this node's level, 0 to 10 (as its certificate grants)"],
  peer: ['HOST:PORT', 'cluster: the mutual-TLS peer listener'],
  'cluster-dir': ['DIR', 'cluster: ca.crt and nodes/ID/ made by keymesh cluster add-node'],
  'chain-id': ['N', 'the chain id /rpc reports unless the URL says ?chainId= (default 1)'],
  'max-connections': ['N', 'open HTTP connections in all (default 1024)'],
  'max-connections-per-ip': ['N', 'open HTTP connections from one address or IPv6 /64 (default 128)'],
  'idle-timeout': ['SECONDS', 'close an idle keep-alive connection after this (default 5)'],
  'headers-timeout': ['SECONDS', 'the request line and headers must arrive within this (default 10)'],
  'request-timeout': ['SECONDS', 'the whole request must arrive within this (default 30)'],
  'shutdown-timeout': ['SECONDS', 'on SIGTERM, in-flight requests get this long (default 10)'],
};

export function startHelp(options: Record<string, { type: 'string' | 'boolean' }>): string {
  const rows: (readonly [string, string])[] = Object.entries(options).map(([name, o]) => {
    const [arg, help] = HELP[name] ?? [o.type === 'string' ? 'VALUE' : '', ''];
    return [`--${name}${o.type === 'string' ? ' ' + (arg || 'VALUE') : ''}`, help] as const;
  });
  rows.push(['-h, --help', 'this help']);
  const w = Math.max(...rows.map((r) => r[0].length));
  return [
    'usage: keymesh start [flags]',
    '',
    'Run a node until SIGINT or SIGTERM, then finish in-flight requests and exit 0.',
    '',
    'Flags:',
    ...rows.map(([a, b]) => `  ${a.padEnd(w)}  ${b}`.trimEnd()),
    '',
  ].join('\n');
}
