/** API tokens for tests: one per scope plus one with every scope, and the API_TOKENS text that configures them. */
import { createToken } from '../../cli/commands/token';
import { SCOPES, type Scope } from '../../shared/auth/scopes';

export interface TestTokens {
  /** Token by name: write, read, admin, metrics (one scope each) and all (every scope). */
  secrets: Record<Scope | 'all', string>;
  /** The value of API_TOKENS. */
  apiTokens: string;
}

export function testTokens(): TestTokens {
  const created = [...SCOPES.map((scope) => createToken(scope, [scope])), createToken('all', [...SCOPES])];
  return {
    secrets: Object.fromEntries(created.map((c) => [c.name, c.token])) as Record<Scope | 'all', string>,
    apiTokens: ['# test tokens', ...created.map((c) => c.line)].join('\n'),
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
