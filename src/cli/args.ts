// Argument parsing shared by the commands: node's util.parseArgs, strict, with the options every
// client command takes. Usage mistakes exit 2 with one line.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError, EXIT } from './client.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export const CLIENT_OPTIONS: Options = {
  url: { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  'data-dir': { type: 'string' },
  json: { type: 'boolean' },
};

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

export function parse(
  argv: string[],
  options: Options,
  positionals: { min: number; max: number; usage: string },
): Parsed {
  let r: Parsed;
  try {
    r = parseArgs({
      args: argv,
      options: { ...CLIENT_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    }) as Parsed;
  } catch (e) {
    throw new CliError(`${(e as Error).message}\nusage: ${positionals.usage}`, EXIT.usage, 'USAGE');
  }
  if (r.positionals.length < positionals.min || r.positionals.length > positionals.max)
    throw new CliError(`usage: ${positionals.usage}`, EXIT.usage, 'USAGE');
  return r;
}

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
