/**
 * A private replica of a private Redis (`redis-server --replicaof`), for REDIS_WAIT_REPLICAS:
 * its tests and its cost in the benchmark.
 */
import { runRedisCli } from './private-cluster';
import { startPrivateRedis, type PrivateRedis } from './private-redis';

export interface PrivateReplica extends PrivateRedis {
  /** Waits until the replica has loaded the master's data and the master counts it as online. */
  waitUntilInSync(timeoutMs?: number): Promise<void>;
}

async function infoReplication(port: number): Promise<string> {
  return runRedisCli(['-p', String(port), 'info', 'replication'], 5000).catch((error: unknown) => String(error));
}

export async function startPrivateReplica(master: PrivateRedis, options: { appendOnly?: boolean } = {}): Promise<PrivateReplica> {
  const replica = await startPrivateRedis({
    appendOnly: options.appendOnly,
    extraArgs: ['--replicaof', '127.0.0.1', String(master.port)],
  });
  const waitUntilInSync = async (timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [own, ofMaster] = await Promise.all([infoReplication(replica.port), infoReplication(master.port)]);
      const linked = /master_link_status:up/.test(own) && !/master_sync_in_progress:1/.test(own);
      if (linked && new RegExp(`slave\\d+:ip=[^,]+,port=${replica.port},state=online`).test(ofMaster)) return;
      if (Date.now() > deadline)
        throw new Error(`replica on port ${replica.port} not in sync within ${timeoutMs} ms:\n${own}\n${ofMaster}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  // The same handle (its `process` follows restarts); restart() keeps --replicaof: it resyncs.
  const handle: PrivateReplica = Object.assign(replica, { waitUntilInSync });
  await waitUntilInSync();
  return handle;
}
