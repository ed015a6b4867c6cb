// A TCP proxy in front of Redis whose network can be cut, black-holed, stalled, made one-way, and restored.
import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * How a cut network behaves toward new connections:
 * - `refuse`: a new connection is reset at once;
 * - `hold`: a new connection is accepted and then nothing answers (a black hole) until restore.
 */
export type CutMode = 'refuse' | 'hold';

interface Pair {
  client: Socket;
  upstream: Socket;
  /** When set, data from Redis to the client is dropped (a one-way partition). */
  dropReplies: boolean;
  /** Data held back while the network is stalled, per direction. */
  stalledUp: Buffer[];
  stalledDown: Buffer[];
}

type Direction = 'request' | 'reply';

interface Trigger {
  direction: Direction;
  pattern: RegExp;
  /** Acts on the pair; returns whether the matching chunk is still forwarded. */
  act(pair: Pair): boolean;
}

export interface ArmedTrigger {
  /** Resolves when matching data passed the proxy and the trigger acted. */
  fired: Promise<void>;
  readonly hasFired: boolean;
  /** Stops waiting (no effect once fired). */
  disarm(): void;
}

export class TcpProxy {
  private state: 'open' | 'stalled' | CutMode = 'open';
  private readonly pairs = new Set<Pair>();
  /** Connections accepted while the network was black-holed or stalled, with what they sent. */
  private readonly held = new Map<Socket, Buffer[]>();
  private trigger: Trigger | undefined;
  /** What Redis answered on one-way connections and the client never got. */
  private dropped = '';
  /** Connections accepted since start, and how many were cut by a fault. */
  accepted = 0;
  cutConnections = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly targetPort: number,
    private readonly targetHost: string,
  ) {}

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as { port: number };
    const proxy = new TcpProxy(server, port, targetPort, targetHost);
    server.on('connection', (socket) => proxy.accept(socket));
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Live client connections piped to Redis. */
  get openConnections(): number {
    return this.pairs.size;
  }

  /** Cuts the network: resets every current connection, then refuses or holds new ones. */
  cut(mode: CutMode): void {
    this.state = mode;
    for (const pair of [...this.pairs]) this.destroyPair(pair, true);
  }

  /**
   * A silent partition: current connections stay open but nothing passes either way, and
   * new ones are held; on restore everything held back is delivered, as TCP would.
   */
  stall(): void {
    this.state = 'stalled';
  }

  /** Heals the network: held-back data flows, new and held connections reach Redis. */
  restore(): void {
    this.state = 'open';
    for (const pair of this.pairs) {
      for (const chunk of pair.stalledUp.splice(0)) pair.upstream.write(chunk);
      for (const chunk of pair.stalledDown.splice(0)) if (!pair.dropReplies) pair.client.write(chunk);
    }
    for (const [socket, buffered] of [...this.held]) {
      this.held.delete(socket);
      if (!socket.destroyed) this.pipe(socket, buffered);
    }
  }

  /** Cuts the network (mode) when a client sends a command matching `pattern`, before it reaches Redis. */
  cutOnCommand(pattern: RegExp, mode: CutMode): ArmedTrigger {
    return this.arm('request', pattern, () => {
      this.cut(mode);
      return false;
    });
  }

  /** Cuts the network (mode) when Redis sends a reply matching `pattern`, before it reaches the client. */
  cutOnReply(pattern: RegExp, mode: CutMode): ArmedTrigger {
    return this.arm('reply', pattern, () => {
      this.cut(mode);
      return false;
    });
  }

  /**
   * From the moment a client sends a command matching `pattern`, that command and later
   * ones on its connection still reach Redis, but no reply on that connection reaches the
   * client any more (a one-way partition, until the connection is cut).
   */
  dropRepliesFromCommand(pattern: RegExp): ArmedTrigger {
    return this.arm('request', pattern, (pair) => {
      pair.dropReplies = true;
      return true;
    });
  }

  /** How many replies matching `pattern` Redis sent that were dropped on one-way connections. */
  droppedReplies(pattern: RegExp): number {
    const global = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`);
    return [...this.dropped.matchAll(global)].length;
  }

  async close(): Promise<void> {
    this.trigger = undefined;
    for (const pair of [...this.pairs]) this.destroyPair(pair, false);
    for (const socket of this.held.keys()) socket.destroy();
    this.held.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private arm(direction: Direction, pattern: RegExp, act: (pair: Pair) => boolean): ArmedTrigger {
    let settle: () => void = () => undefined;
    let hasFired = false;
    const fired = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const trigger: Trigger = {
      direction,
      pattern,
      act: (pair) => {
        this.trigger = undefined;
        hasFired = true;
        const forward = act(pair);
        settle();
        return forward;
      },
    };
    this.trigger = trigger;
    return {
      fired,
      get hasFired() {
        return hasFired;
      },
      disarm: () => {
        if (this.trigger === trigger) this.trigger = undefined;
      },
    };
  }

  private accept(client: Socket): void {
    this.accepted++;
    client.on('error', () => undefined);
    if (this.state === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    if (this.state === 'hold' || this.state === 'stalled') {
      const buffered: Buffer[] = [];
      this.held.set(client, buffered);
      client.on('data', (chunk: Buffer) => buffered.push(chunk));
      client.once('close', () => this.held.delete(client));
      return;
    }
    this.pipe(client, []);
  }

  private pipe(client: Socket, buffered: Buffer[]): void {
    client.removeAllListeners('data');
    client.removeAllListeners('close');
    const upstream = connect(this.targetPort, this.targetHost);
    upstream.setNoDelay(true);
    client.setNoDelay(true);
    const pair: Pair = { client, upstream, dropReplies: false, stalledUp: [], stalledDown: [] };
    this.pairs.add(pair);
    upstream.on('error', () => undefined);
    for (const chunk of buffered) upstream.write(chunk);
    // A short tail of the previous chunk, so a pattern split across two chunks still matches.
    const tails: Record<Direction, string> = { request: '', reply: '' };
    const passes = (direction: Direction, chunk: Buffer): boolean => {
      const trigger = this.trigger;
      if (trigger === undefined || trigger.direction !== direction) return true;
      const tail = tails[direction];
      const text = tail + chunk.toString('latin1');
      tails[direction] = text.slice(-256);
      if (!matchesAfter(trigger.pattern, text, tail.length)) return true;
      return trigger.act(pair) && this.pairs.has(pair);
    };
    client.on('data', (chunk: Buffer) => {
      if (!this.pairs.has(pair) || !passes('request', chunk)) return;
      if (this.state === 'stalled') pair.stalledUp.push(chunk);
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!this.pairs.has(pair) || !passes('reply', chunk)) return;
      if (pair.dropReplies) {
        this.dropped += chunk.toString('latin1');
        return;
      }
      if (this.state === 'stalled') pair.stalledDown.push(chunk);
      else client.write(chunk);
    });
    const end = () => this.destroyPair(pair, false);
    client.once('close', end);
    upstream.once('close', end);
  }

  private destroyPair(pair: Pair, byFault: boolean): void {
    if (!this.pairs.delete(pair)) return;
    if (byFault) this.cutConnections++;
    // A fault resets (as a dropped path or a vanished peer looks); an ordinary end just closes.
    close(pair.client, byFault);
    close(pair.upstream, byFault);
  }
}

function close(socket: Socket, reset: boolean): void {
  if (socket.destroyed) return;
  // A reset is refused once the socket is shutting down (its peer ended it); the handle
  // would then never close, so such a socket is just destroyed.
  if (reset && !socket.connecting && !socket.writableEnded && !socket.readableEnded) socket.resetAndDestroy();
  else socket.destroy();
}

/** True when `pattern` matches `text` somewhere ending after its first `from` characters. */
function matchesAfter(pattern: RegExp, text: string, from: number): boolean {
  const global = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`);
  for (const match of text.matchAll(global)) {
    if (match.index + match[0].length > from) return true;
  }
  return false;
}

/**
 * A script call (EVALSHA, as ioredis sends a defined command) whose first key is a
 * partition stream `...:{p<i>of<N>}:stream` (keys.ts): the worker's apply-batch or ingest's append, and
 * none of the queue library's scripts.
 */
export const SCRIPT_ON_STREAM =
  /\$7\r\nevalsha\r\n\$40\r\n[0-9a-f]{40}\r\n\$\d+\r\n\d+\r\n\$\d+\r\n[^\r\n]*:\{p\d+of\d+(?:-\d+)?\}:stream\r\n/i;

/**
 * Ingest's append, either way it goes: the script call above, or (one Redis, no
 * Idempotency-Key in the group) the transaction's XADD to a partition stream
 * (transaction-append.ts). The worker never sends XADD to a partition stream.
 */
const XADD_ON_STREAM = /\$4\r\nxadd\r\n\$\d+\r\n[^\r\n]*:\{p\d+of\d+(?:-\d+)?\}:stream\r\n/i;
export const APPEND_ON_STREAM = new RegExp(`(?:${SCRIPT_ON_STREAM.source})|(?:${XADD_ON_STREAM.source})`, 'i');

/**
 * The worker's apply on one Redis (transaction-apply.ts): a MULTI/EXEC whose XACK names a
 * partition stream.
 */
export const TRANSACTION_ON_STREAM = /\$4\r\nxack\r\n\$\d+\r\n[^\r\n]*:\{p\d+of\d+(?:-\d+)?\}:stream\r\n/i;

/** EXEC's answer when the transaction ran (an array after the QUEUED replies; an aborted one is `*-1`). */
export const TRANSACTION_APPLIED_REPLY = /\+QUEUED\r\n\*[1-9]\d*\r\n/;

/** A reply carrying stream entries with node samples (XREADGROUP, XAUTOCLAIM, XRANGE). */
export const STREAM_ENTRIES_REPLY = /\$1\r\nd\r\n\$\d+\r\nN\t/;
