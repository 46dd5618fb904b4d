// keymesh cluster init|add-node: the cluster's TLS material in a directory (issue 4, point 2).
//
//   init     --dir D                  D/ca.crt, D/ca.key: the cluster CA (P-256, src/tls/certs.ts).
//   add-node --dir D --node-id ID     D/nodes/ID/node.crt + node.key: a server certificate that is
//            --region R --level N     also a client certificate (clientAuth), CN = ID, granting the
//            [--host H]...            node region R and level N (subjectAltName URIs), for the
//                                     node's mutual-TLS peer listener, its forwarding client, and
//                                     the attestation of its enclave's transport key.
//
// Trust model: the operator who holds D/ca.key is the CA. A node needs only ca.crt and its own
// nodes/ID/ (copy just those to the machine that runs it): it signs its attestation with its own
// certificate's key, and a peer accepts it only for the region and level the certificate grants
// (src/enclave/crypto/attestation.ts). So the provider of one node can attest nothing but that
// node as the operator granted it. Re-running add-node re-issues a node's certificate, e.g. to
// change its level; the node picks it up when restarted with the matching --level.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CA_FILE, CA_KEY_FILE, createCa, issueServerCert, loadCa } from '../../tls/certs.js';
import { grantUris } from '../../enclave/crypto/attestation.js';
import { writeFileAtomic } from '../../util/files.js';
import { isNodeId } from '../../util/ids.js';
import { type Command, type Group, list, str } from '../args.js';
import { CliError, EXIT, makeClient } from '../client.js';
import { printJson, printTable } from '../output.js';

export const NODE_CERT_FILE = 'node.crt';
export const NODE_KEY_FILE = 'node.key';

/** Where add-node puts a node's certificate and key. */
export const nodeTlsDir = (dir: string, nodeId: string) => join(dir, 'nodes', nodeId);

const LEVELS = Array.from({ length: 11 }, (_, i) => String(i));
const DIR = {
  type: 'string',
  arg: 'DIR',
  required: true,
  help: 'the cluster directory (CA and node certificates)',
} as const;

const commands: Command[] = [
  {
    name: 'status',
    summary: 'Every node of the cluster: region, level, liveness, attestation.',
    flags: {},
    async run({ values: v }) {
      const res = await makeClient(v).request<{
        node: string;
        live: boolean;
        nodes: Record<string, unknown>[];
      }>('GET', '/v1/cluster');
      if (v.json) return printJson(res);
      process.stdout.write(`answered by ${res.node} (${res.live ? 'live' : 'NOT live'})\n`);
      printTable(res.nodes, ['id', 'region', 'level', 'live', 'attested']);
    },
  },
  {
    name: 'remove-node',
    summary: 'An admin removes a node that is down for good; its replicas are deleted.',
    positionals: [{ name: 'ID', help: 'the node id' }],
    flags: {},
    async run({ values: v, positionals: [id] }) {
      await makeClient(v).request('DELETE', `/v1/cluster/nodes/${encodeURIComponent(id!)}`);
      if (v.json) return printJson({ removed: id });
      process.stdout.write(`removed ${id}; its replicas are being deleted\n`);
    },
  },
  {
    name: 'init',
    summary: "Make the cluster's CA in DIR (ca.crt, ca.key); refuses to replace one.",
    client: false,
    flags: { dir: DIR },
    async run({ values: v }) {
      const dir = str(v.dir)!;
      if (existsSync(join(dir, CA_KEY_FILE)))
        throw new CliError(`${dir} already holds a cluster CA; refusing to replace it`, EXIT.usage, 'USAGE');
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const ca = await createCa({ commonName: 'Keymesh cluster CA', organization: 'Keymesh' });
      // The key first: a ca.crt without its key would look like a finished init.
      writeFileAtomic(join(dir, CA_KEY_FILE), ca.keyPem, 0o600);
      writeFileAtomic(join(dir, CA_FILE), ca.certPem, 0o644);
      process.stdout.write(`cluster CA written to ${join(dir, CA_FILE)}\n`);
    },
  },
  {
    name: 'add-node',
    summary: "Issue a node's certificate, granting it a region and level.",
    client: false,
    flags: {
      dir: DIR,
      'node-id': { type: 'string', arg: 'ID', required: true, help: '1 to 63 characters of A-Z a-z 0-9 ._-' },
      region: { type: 'string', arg: 'R', required: true, help: 'the region the node may hold keys for' },
      level: { type: 'string', arg: 'N', required: true, choices: LEVELS, help: 'its trust level' },
      host: { type: 'string', arg: 'HOST', multiple: true, help: 'a DNS name or IP the node is reached at' },
    },
    async run({ values: v }) {
      const dir = str(v.dir)!;
      const id = str(v['node-id'])!;
      const region = str(v.region)!;
      const level = str(v.level)!;
      if (!isNodeId(id))
        throw new CliError('--node-id must be 1 to 63 characters of A-Z a-z 0-9 ._-', EXIT.usage, 'USAGE');
      let uris: string[];
      try {
        uris = grantUris(region, Number(level));
      } catch (e) {
        throw new CliError((e as Error).message, EXIT.usage, 'USAGE');
      }
      const ca = loadCa(dir);
      const hosts = list(v.host);
      const ips = hosts.filter((h) => /^[0-9.]+$/.test(h) || h.includes(':'));
      const dnsNames = hosts.filter((h) => !ips.includes(h));
      const cert = await issueServerCert(ca, { commonName: id, clientAuth: true, dnsNames, ips, uris });
      const out = nodeTlsDir(dir, id);
      mkdirSync(out, { recursive: true, mode: 0o700 });
      writeFileAtomic(join(out, NODE_KEY_FILE), cert.keyPem, 0o600);
      writeFileAtomic(join(out, NODE_CERT_FILE), cert.certPem, 0o644);
      process.stdout.write(
        `node ${id} (region ${region}, level ${level}): certificate written to ${join(out, NODE_CERT_FILE)}\n`,
      );
    },
  },
];

export const clusterGroup: Group = {
  name: 'cluster',
  summary: "A cluster's TLS material (init, add-node) and its running nodes (status, remove-node).",
  commands,
};
