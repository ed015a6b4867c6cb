/** The configured tokens, by hash only; a presented token is hashed and compared in constant time. */
import * as crypto from 'node:crypto';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Scope } from './scopes';
import type { TokenEntry } from './token-file';

/** Longer bearer values are not hashed at all: no real token is this long. */
const MAX_TOKEN_LENGTH = 512;

/** crypto.hash (Node >= 20.12) is the one-shot form, about twice as fast as a Hash object per request. */
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: 'buffer') => Buffer }).hash;

export function hashToken(token: string): Buffer {
  return oneShot ? oneShot('sha256', token, 'buffer') : createHash('sha256').update(token, 'utf8').digest();
}

export class TokenStore {
  private entries: readonly TokenEntry[];
  /** Grows with every replace(): what was verified under an older generation must be verified again. */
  private currentGeneration = 0;

  /** `open`: no tokens were configured at start, so every route is open. Fixed for the process's life. */
  constructor(
    entries: readonly TokenEntry[],
    readonly open = entries.length === 0,
  ) {
    this.entries = entries;
  }

  get size(): number {
    return this.entries.length;
  }

  get names(): string[] {
    return this.entries.map((e) => e.name);
  }

  /** A reloaded file replaces every token at once; an empty one leaves no token valid (never opens the API). */
  replace(entries: readonly TokenEntry[]): void {
    this.entries = entries;
    this.currentGeneration++;
  }

  get generation(): number {
    return this.currentGeneration;
  }

  /** The entry whose hash matches, or undefined. Every entry is compared, so the time does not tell which matched. */
  verify(token: string): TokenEntry | undefined {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return undefined;
    const hash = hashToken(token);
    let found: TokenEntry | undefined;
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.hash, hash) && found === undefined) found = entry;
    }
    return found;
  }

  static allows(entry: TokenEntry, scope: Scope): boolean {
    return entry.scopes.has(scope);
  }
}
