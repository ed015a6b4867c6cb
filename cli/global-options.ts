/** The options every command takes (--url, --token, --json) and the client built from them. */
import { Option, type Command } from 'commander';
import { ApiClient } from './api-client';
import { usageError } from './cli-error';

export const DEFAULT_URL = 'http://127.0.0.1:8080';

export interface GlobalOptions {
  url: string;
  token?: string;
  json: boolean;
}

/** Added to the program; commander accepts them before or after the command name. */
export function addGlobalOptions(program: Command): Command {
  return program
    .addOption(new Option('--url <url>', 'base URL of the ingest service').env('NODEAGG_URL').default(DEFAULT_URL))
    .addOption(new Option('--token <token>', 'API token, sent as "Authorization: Bearer <token>"').env('NODEAGG_TOKEN'))
    .addOption(new Option('--json', 'machine-readable JSON on stdout instead of tables').default(false));
}

export function globalsOf(command: Command): GlobalOptions {
  const options = command.optsWithGlobals() as { url?: string; token?: string; json?: boolean };
  const url = options.url ?? DEFAULT_URL;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw usageError(`--url "${url}" is not a URL; pass one like ${DEFAULT_URL} (or set NODEAGG_URL)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw usageError(`--url must be an http:// or https:// URL, like ${DEFAULT_URL}; got "${url}"`);
  }
  return { url, token: options.token || undefined, json: options.json === true };
}

export function clientOf(command: Command): { client: ApiClient; globals: GlobalOptions } {
  const globals = globalsOf(command);
  return { client: new ApiClient(globals.url, globals.token), globals };
}
