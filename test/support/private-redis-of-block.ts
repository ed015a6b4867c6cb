import { startPrivateRedis, type PrivateRedis } from '../../launcher/private-redis';

/** A private Redis for the enclosing describe block: each block watches, restricts or kills its own. */
export function privateRedisOfBlock(): () => PrivateRedis {
  let redis: PrivateRedis | undefined;
  beforeAll(async () => {
    redis = await startPrivateRedis();
  });
  afterAll(() => redis?.destroy());
  return () => redis!;
}
