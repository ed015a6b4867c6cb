/** Stops what global-setup started. */
import type { PrivateRedis } from '../launcher/private-redis';

export default async function globalTeardown(): Promise<void> {
  const state = globalThis as Record<string, unknown>;
  await (state.__testRedis as PrivateRedis | undefined)?.destroy();
  await (state.__testContainer as { stop(): Promise<unknown> } | undefined)?.stop();
}
