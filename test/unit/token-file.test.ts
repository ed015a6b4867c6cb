/** The tokens file: lines, comments, and errors that name the line and never echo a hash. */
import { parseTokenFile } from '../../shared/auth/token-file';
import { TokenStore, hashToken } from '../../shared/auth/token-store';
import { authorize } from '../../shared/auth/authorize';

const HASH_A = hashToken('token-a').toString('hex');
const HASH_B = hashToken('token-b').toString('hex');

test('names, scopes and hashes; comments and blank lines are skipped', () => {
  const entries = parseTokenFile(
    `# agents\n\nagents write ${HASH_A}   # fleet\n  grafana read,metrics ${HASH_B.toUpperCase()}\n`,
    'API_TOKENS',
  );
  expect(entries.map((e) => [e.name, [...e.scopes]])).toEqual([
    ['agents', ['write']],
    ['grafana', ['read', 'metrics']],
  ]);
  const store = new TokenStore(entries);
  expect(store.open).toBe(false);
  expect(store.verify('token-a')?.name).toBe('agents');
  expect(store.verify('token-b')?.name).toBe('grafana');
  expect(store.verify('token-c')).toBeUndefined();
  expect(store.verify('')).toBeUndefined();
  expect(store.verify('x'.repeat(10_000))).toBeUndefined();
});

test.each([
  ['two fields', `agents write`, /line 2: expected "<name> <scope,scope,...> <sha256 hex>", found 2 field/],
  ['an unknown scope', `agents write,root ${HASH_A}`, /line 2: unknown scope; scopes are write, read, admin, metrics/],
  ['no scope', `agents , ${HASH_A}`, /line 2: give at least one scope/],
  ['a bad name', `age/nts write ${HASH_A}`, /line 2: the name must be/],
  ['a short hash', `agents write ${HASH_A.slice(0, 40)}`, /line 2: the third field must be the sha256/],
  ['the token itself instead of its hash', `agents write 4Nq0dFvF3fZ1m2o-secret-token-value`, /line 2: the third field/],
  ['the token in place of the scopes', `agents 4Nq0dFvF3fZ1m2o-secret-token-value ${HASH_A}`, /line 2: unknown scope; /],
  ['a repeated name', `a write ${HASH_B}\nagents write ${HASH_A}\nagents read ${HASH_B}`, /line 4: the name is already used on line 3/],
])('%s stops the service with the line number', (_what, body, message) => {
  const text = `# header\n${body}`;
  expect(() => parseTokenFile(text, 'API_TOKENS')).toThrow(message);
  try {
    parseTokenFile(text, 'API_TOKENS');
  } catch (error) {
    // Never the secret nor the hash in the message.
    expect((error as Error).message).not.toMatch(/secret-token-value|[0-9a-f]{40}/);
    expect((error as Error).message).toMatch(/^API_TOKENS line \d+: /);
  }
});

test('authorize: open without tokens, else missing / unknown / scope', () => {
  const open = new TokenStore([]);
  expect(authorize(open, undefined, 'admin')).toEqual({ ok: true, token: undefined });
  const store = new TokenStore(parseTokenFile(`agents write ${HASH_A}`, 'API_TOKENS'));
  expect(authorize(store, undefined, 'write')).toMatchObject({ ok: false, reason: 'missing' });
  expect(authorize(store, 'Bearer', 'write')).toMatchObject({ ok: false, reason: 'missing' });
  expect(authorize(store, 'Bearer token-b', 'write')).toMatchObject({ ok: false, reason: 'unknown' });
  expect(authorize(store, 'Bearer token-a', 'read')).toMatchObject({ ok: false, reason: 'scope' });
  expect(authorize(store, 'Bearer token-a', 'write')).toMatchObject({ ok: true, token: { name: 'agents' } });
  // A reload to an empty file leaves nothing valid; it never opens the API.
  store.replace([]);
  expect(authorize(store, 'Bearer token-a', 'write')).toMatchObject({ ok: false, reason: 'unknown' });
});
