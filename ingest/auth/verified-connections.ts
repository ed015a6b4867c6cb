/**
 * The token each keep-alive connection last proved, so its following requests with the same
 * Authorization header skip hashing it again. Only the connection's own previous header is
 * compared (it tells a client nothing about other tokens), and a reloaded tokens file
 * (a new store generation) makes every connection prove its token again.
 */
import type { Socket } from 'node:net';
import type { TokenEntry } from '../../shared/auth/token-file';
import type { TokenStore } from '../../shared/auth/token-store';

interface Verified {
  header: string;
  generation: number;
  token: TokenEntry;
}

export class VerifiedConnections {
  private readonly bySocket = new WeakMap<Socket, Verified>();

  constructor(private readonly store: TokenStore) {}

  /** The token this connection proved with exactly this header, if the tokens have not changed since. */
  tokenOf(socket: Socket, header: string | undefined): TokenEntry | undefined {
    const verified = this.bySocket.get(socket);
    if (verified === undefined || verified.header !== header || verified.generation !== this.store.generation) return undefined;
    return verified.token;
  }

  remember(socket: Socket, header: string, token: TokenEntry): void {
    this.bySocket.set(socket, { header, generation: this.store.generation, token });
  }
}
