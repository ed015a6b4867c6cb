/**
 * Where the tokens come from: API_TOKENS_FILE (re-read when it changes) or API_TOKENS inline.
 * No tokens: the service runs open and warns, unless AUTH_REQUIRED=true, which refuses to start.
 */
import { readFileSync } from 'node:fs';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { parseTokenFile, TokenFileError, type TokenEntry } from './token-file';
import { TokenStore } from './token-store';

export interface LoadedTokens {
  store: TokenStore;
  /** Stops re-reading the file. */
  stop(): void;
}

function readTokensFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new TokenFileError(
      `API_TOKENS_FILE=${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

export function loadTokens(config: Config, logger: Logger): LoadedTokens {
  if (config.apiTokensFile !== '' && config.apiTokens !== '') {
    throw new TokenFileError('API_TOKENS_FILE and API_TOKENS are both set; set only one of them.');
  }
  const fromFile = config.apiTokensFile !== '';
  let text = fromFile ? readTokensFile(config.apiTokensFile) : config.apiTokens;
  const entries: TokenEntry[] = parseTokenFile(text, fromFile ? `API_TOKENS_FILE ${config.apiTokensFile}` : 'API_TOKENS');
  if (entries.length === 0) {
    if (config.authRequired) {
      throw new TokenFileError(
        'AUTH_REQUIRED=true but no API tokens are configured: set API_TOKENS_FILE (a tokens file, e.g. a mounted Secret) or API_TOKENS (the same lines inline). See docs/SECURITY.md.',
      );
    }
    logger.warn(
      'NO API TOKENS CONFIGURED: every route is open to anyone who can reach this port, with no rate limits. ' +
        'Set API_TOKENS_FILE or API_TOKENS (and AUTH_REQUIRED=true) for any shared or production use; see docs/SECURITY.md.',
    );
    return { store: new TokenStore([], true), stop: () => undefined };
  }
  const store = new TokenStore(entries, false);
  logger.info({ tokens: store.names }, `API tokens loaded from ${fromFile ? 'API_TOKENS_FILE' : 'API_TOKENS'}`);
  if (!fromFile) return { store, stop: () => undefined };

  // A mounted Secret changes by a symlink swap: re-reading the path on a timer sees it.
  const timer = setInterval(() => {
    let next: string;
    try {
      next = readFileSync(config.apiTokensFile, 'utf8');
    } catch (error) {
      logger.error({ code: (error as NodeJS.ErrnoException).code }, 'API_TOKENS_FILE cannot be read; keeping the previous tokens');
      return;
    }
    if (next === text) return;
    text = next;
    try {
      const reloaded = parseTokenFile(next, `API_TOKENS_FILE ${config.apiTokensFile}`);
      store.replace(reloaded);
      if (reloaded.length === 0) logger.warn('API_TOKENS_FILE now holds no token: every protected route answers 401');
      else logger.info({ tokens: store.names }, 'API tokens reloaded from API_TOKENS_FILE');
    } catch (error) {
      logger.error(`${(error as Error).message}; keeping the previous tokens`);
    }
  }, config.apiTokensReloadMs);
  timer.unref();
  return { store, stop: () => clearInterval(timer) };
}
