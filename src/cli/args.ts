// The CLI's command tables and the one parser that reads them. Every subcommand is a row: its
// flags (type, value name, help, allowed values, required), its positionals and what it runs.
// The same row drives parsing (node's util.parseArgs, strict), the checks made before anything is
// sent (allowed values, whole numbers, required flags), the usage line of an error and the text
// of `--help`, so the help cannot list a flag the parser does not take, or miss one it does.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError, EXIT } from './client.js';

export interface Flag {
  type: 'string' | 'boolean';
  /** May be given more than once; the values arrive as an array. */
  multiple?: boolean;
  /** The value's name in usage and help (`--name NAME`). */
  arg?: string;
  help: string;
  /** The allowed values, checked before anything is sent and listed in errors and help. */
  choices?: readonly string[];
  /** The value must be a whole number (decimal digits). */
  integer?: boolean;
  required?: boolean;
}

export interface Positional {
  name: string;
  help: string;
  choices?: readonly string[];
}

export type Values = Record<string, string | boolean | string[] | undefined>;

export interface Parsed {
  values: Values;
  positionals: string[];
}

export interface Command {
  name: string;
  summary: string;
  positionals?: readonly Positional[];
  flags: Record<string, Flag>;
  /** Talks to a node: takes the client flags (--url, --token, ...). Default true. */
  client?: boolean;
  /** Extra lines for --help (what the command does beyond its flags). */
  notes?: string;
  run(p: Parsed): Promise<void>;
}

export interface Group {
  name: string;
  summary: string;
  commands: readonly Command[];
}

/** The flags every client command takes (client.ts reads them). */
export const CLIENT_FLAGS: Record<string, Flag> = {
  url: {
    type: 'string',
    arg: 'URL',
    help: 'the node (or KEYMESH_URL; default http:// + KEYMESH_HTTP or 127.0.0.1:8520)',
  },
  token: { type: 'string', arg: 'TOKEN', help: 'bearer token (first choice)' },
  'token-file': { type: 'string', arg: 'FILE', help: 'read the token from FILE' },
  'data-dir': {
    type: 'string',
    arg: 'DIR',
    help: 'data dir whose admin.token is the last resort (or KEYMESH_DATA_DIR; default ./.keymesh)',
  },
  json: { type: 'boolean', help: 'machine-readable output' },
};

const HELP_FLAG: Record<string, Flag> = { help: { type: 'boolean', help: 'this help' } };

function flagsOf(cmd: Command): Record<string, Flag> {
  return { ...cmd.flags, ...(cmd.client === false ? {} : CLIENT_FLAGS), ...HELP_FLAG };
}

const flagWord = (name: string, f: Flag) =>
  f.type === 'string' ? `--${name} ${f.arg ?? 'VALUE'}` : `--${name}`;

const positionalWord = (p: Positional) => (p.choices ? p.choices.join('|') : p.name);

/** `keymesh keys create --name NAME --algorithm ALG [--label K=V]...` */
export function usageLine(group: string, cmd: Command): string {
  const words = [`keymesh ${group} ${cmd.name}`, ...(cmd.positionals ?? []).map(positionalWord)];
  for (const [name, f] of Object.entries(cmd.flags)) {
    const w = flagWord(name, f);
    words.push(f.required ? w : `[${w}]${f.multiple ? '...' : ''}`);
  }
  return words.join(' ');
}

function flagLines(flags: Record<string, Flag>): string[] {
  const rows = Object.entries(flags).map(([name, f]) => {
    let help = f.help;
    if (f.choices) help += ` (one of: ${f.choices.join(', ')})`;
    if (f.required) help += ' (required)';
    if (f.multiple) help += ' (repeatable)';
    return [(name === 'help' ? '-h, ' : '') + flagWord(name, f), help] as const;
  });
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([a, b]) => `  ${a.padEnd(w)}  ${b}`);
}

export function commandHelp(group: string, cmd: Command): string {
  const out = [`usage: ${usageLine(group, cmd)}`, '', cmd.summary];
  if (cmd.notes) out.push('', cmd.notes);
  const pos = cmd.positionals ?? [];
  if (pos.length) {
    out.push('', 'Arguments:');
    const w = Math.max(...pos.map((p) => p.name.length));
    for (const p of pos)
      out.push(`  ${p.name.padEnd(w)}  ${p.help}${p.choices ? ` (one of: ${p.choices.join(', ')})` : ''}`);
  }
  const own = { ...cmd.flags, ...HELP_FLAG };
  out.push('', 'Flags:', ...flagLines(own));
  if (cmd.client !== false) out.push('', 'Client flags:', ...flagLines(CLIENT_FLAGS));
  return out.join('\n') + '\n';
}

export function groupHelp(g: Group): string {
  const w = Math.max(...g.commands.map((c) => c.name.length));
  return (
    [
      `usage: keymesh ${g.name} <command> [flags]`,
      '',
      g.summary,
      '',
      'Commands:',
      ...g.commands.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
      '',
      `Run "keymesh ${g.name} <command> --help" for its flags.`,
    ].join('\n') + '\n'
  );
}

const groupUsage = (g: Group) =>
  `usage: keymesh ${g.name} ${g.commands.map((c) => c.name).join('|')} ... (keymesh ${g.name} --help)`;

const isHelp = (a: string | undefined) => a === '--help' || a === '-h' || a === 'help';

/** Parse argv for one command; undefined when --help was asked for (and has been printed). */
export function parse(group: string, cmd: Command, argv: string[]): Parsed | undefined {
  const flags = flagsOf(cmd);
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, f] of Object.entries(flags))
    options[name] = {
      type: f.type,
      ...(f.multiple ? { multiple: true } : {}),
      ...(name === 'help' ? { short: 'h' } : {}),
    };
  let r: Parsed;
  try {
    r = parseArgs({ args: argv, options, allowPositionals: true, strict: true }) as Parsed;
  } catch (e) {
    throw new CliError(`${(e as Error).message}\nusage: ${usageLine(group, cmd)}`, EXIT.usage, 'USAGE');
  }
  if (r.values.help) {
    process.stdout.write(commandHelp(group, cmd));
    return undefined;
  }
  const pos = cmd.positionals ?? [];
  if (r.positionals.length !== pos.length)
    throw new CliError(`usage: ${usageLine(group, cmd)}`, EXIT.usage, 'USAGE');
  pos.forEach((p, i) => {
    if (p.choices && !p.choices.includes(r.positionals[i]!))
      throw new CliError(`${p.name} must be one of: ${p.choices.join(', ')}`, EXIT.usage, 'USAGE');
  });
  for (const [name, f] of Object.entries(flags)) {
    const v = r.values[name];
    if (v === undefined) {
      if (f.required)
        throw new CliError(
          `${group} ${cmd.name} needs --${name} (keymesh ${group} ${cmd.name} --help)`,
          EXIT.usage,
          'USAGE',
        );
      continue;
    }
    for (const one of Array.isArray(v) ? v : [v]) {
      if (typeof one !== 'string') continue;
      // Checked here, before anything is sent: the node's own answer names a JSON pointer
      // (body/scopes/0), not the flag that was typed.
      if (f.choices && !f.choices.includes(one))
        throw new CliError(`--${name} must be one of: ${f.choices.join(', ')}`, EXIT.usage, 'USAGE');
      if (f.integer && !/^[0-9]{1,15}$/.test(one))
        throw new CliError(`--${name} must be a whole number`, EXIT.usage, 'USAGE');
    }
  }
  return r;
}

/** Run `keymesh GROUP SUB ARGS`: the subcommand's row, its --help, or the group's. */
export async function runGroup(g: Group, sub: string | undefined, argv: string[]): Promise<void> {
  if (isHelp(sub)) {
    process.stdout.write(groupHelp(g));
    return;
  }
  const cmd = g.commands.find((c) => c.name === sub);
  if (!cmd) throw new CliError(groupUsage(g), EXIT.usage, 'USAGE');
  const p = parse(g.name, cmd, argv);
  if (p) await cmd.run(p);
}

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
export const list = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : []);
