/** Runs a service's main: start, then drain on SIGTERM/SIGINT within a bound, exit 0. */
import { ConfigError, loadConfig, type Config } from './config';
import { createLogger, type Logger } from './logger';

export async function runService(
  name: string,
  start: (config: Config, logger: Logger) => Promise<{ close(): Promise<void> }>,
): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${name}: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(name, config.logLevel, config.logFormat);
  let service: { close(): Promise<void> };
  try {
    service = await start(config, logger);
  } catch (error) {
    logger.fatal({ err: error }, `${name} could not start: ${(error as Error).message}`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining');
    const force = setTimeout(() => {
      logger.error('drain took too long; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs + 1000);
    force.unref();
    service.close().then(
      () => process.exit(0),
      (error) => {
        logger.error({ err: error }, 'drain failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
