/** The API's scopes: what a token may do (docs/SECURITY.md lists the routes of each). */
export const SCOPES = ['write', 'read', 'admin', 'metrics'] as const;

export type Scope = (typeof SCOPES)[number];

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}
