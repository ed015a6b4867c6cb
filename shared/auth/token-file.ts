/**
 * The tokens file: one token per line, `<name> <scope,scope,...> <sha256 hex of the token>`;
 * `#` starts a comment. Errors name the line, never its hash or any secret.
 */
import { isScope, SCOPES, type Scope } from './scopes';

export interface TokenEntry {
  /** What logs and metrics call the token. */
  readonly name: string;
  readonly scopes: ReadonlySet<Scope>;
  /** sha256 of the token, 32 bytes. */
  readonly hash: Buffer;
}

export const TOKEN_NAME_PATTERN = /^[A-Za-z0-9_.:@-]{1,64}$/;
const HASH_PATTERN = /^[0-9a-f]{64}$/i;

export class TokenFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenFileError';
  }
}

/**
 * Problems with a token's name and scopes, as sentences; empty when both are fine. `echo` quotes
 * unknown scopes back (the command line does; the file parser does not, a misplaced secret could be one).
 */
export function nameAndScopeProblems(name: string, scopes: string[], echo = true): string[] {
  const problems: string[] = [];
  if (!TOKEN_NAME_PATTERN.test(name)) problems.push(`the name must be 1-64 characters of A-Z a-z 0-9 _ . : @ -`);
  if (scopes.length === 0) problems.push(`give at least one scope (${SCOPES.join(', ')})`);
  const unknown = scopes.filter((s) => !isScope(s));
  if (unknown.length > 0) {
    const which = echo ? ` ${unknown.map((s) => `"${s.slice(0, 20)}"`).join(', ')}` : '';
    problems.push(`unknown scope${which}; scopes are ${SCOPES.join(', ')}`);
  }
  return problems;
}

/** Parses the text of a tokens file; `source` names it in errors (API_TOKENS_FILE or API_TOKENS). */
export function parseTokenFile(text: string, source: string): TokenEntry[] {
  const entries: TokenEntry[] = [];
  const names = new Map<string, number>();
  const hashes = new Set<string>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const where = `${source} line ${index + 1}`;
    const fields = line.split(/\s+/);
    if (fields.length !== 3) {
      throw new TokenFileError(`${where}: expected "<name> <scope,scope,...> <sha256 hex>", found ${fields.length} field(s)`);
    }
    const [name, scopeList, hash] = fields as [string, string, string];
    const problems = nameAndScopeProblems(name, scopeList.split(',').filter(Boolean), false);
    if (!HASH_PATTERN.test(hash)) {
      problems.push('the third field must be the sha256 of the token as 64 hex digits (nodeagg token create prints the line)');
    }
    if (problems.length > 0) throw new TokenFileError(`${where}: ${problems.join('; ')}`);
    const earlier = names.get(name);
    if (earlier !== undefined) throw new TokenFileError(`${where}: the name is already used on line ${earlier}; names must be unique`);
    if (hashes.has(hash.toLowerCase())) throw new TokenFileError(`${where}: the same token hash appears on an earlier line`);
    names.set(name, index + 1);
    hashes.add(hash.toLowerCase());
    entries.push({ name, scopes: new Set(scopeList.split(',').filter(Boolean) as Scope[]), hash: Buffer.from(hash, 'hex') });
  });
  return entries;
}
