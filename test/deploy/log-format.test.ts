/**
 * Logs for people and for collectors: the ingest entry point, run for real against the suite's
 * Redis, writes JSON lines when stdout is a pipe (containers), readable lines when stdout is a
 * terminal (`npm start` in a shell; a real pseudo-terminal made by script(1)) or when
 * LOG_FORMAT=pretty, and JSON on a terminal when LOG_FORMAT=json. A bad LOG_FORMAT stops it.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ROOT } from '../support/deploy-files';
import { exitWithin, start, stop, type Running } from '../support/entrypoint-processes';
import { freePort } from '../../launcher/free-port';
import { waitUntil } from '../support/wait-until';

const INGEST = path.join(ROOT, 'dist', 'ingest', 'main.js');

async function environment(format: string | undefined): Promise<NodeJS.ProcessEnv> {
  return {
    PATH: process.env.PATH,
    REDIS_URL: process.env.REDIS_URL,
    KEY_PREFIX: `logfmt-${randomBytes(4).toString('hex')}`,
    INGEST_HOST: '127.0.0.1',
    INGEST_PORT: String(await freePort()),
    LOG_LEVEL: 'info',
    ...(format === undefined ? {} : { LOG_FORMAT: format }),
  };
}

/** Runs ingest with stdout on a pipe, or on a pseudo-terminal through script(1); returns its output once it listens. */
async function firstLines(format: string | undefined, terminal: boolean): Promise<string> {
  const env = await environment(format);
  const argv = terminal ? ['script', '-qfec', `${process.execPath} ${INGEST}`, '/dev/null'] : [process.execPath, INGEST];
  let running: Running | undefined;
  try {
    running = start(argv, env, ROOT);
    const proc = running;
    await waitUntil(async () => proc.output().includes('ingest listening') || proc.child.exitCode !== null, 20000);
    return running.output();
  } finally {
    running?.child.kill('SIGTERM');
    if (running) await exitWithin(running, 10000);
    await stop(running);
  }
}

const listeningLine = (output: string) => output.split(/\r?\n/).find((line) => line.includes('ingest listening')) ?? '';

describe('log format', () => {
  test('JSON on a pipe by default (what a container gets)', async () => {
    const line = listeningLine(await firstLines(undefined, false));
    expect(JSON.parse(line)).toMatchObject({ level: 30, service: 'ingest', msg: 'ingest listening' });
  }, 30000);

  test('readable lines on a terminal by default (npm start in a shell)', async () => {
    const line = listeningLine(await firstLines(undefined, true));
    expect(line).not.toMatch(/^\s*\{/);
    expect(line).toMatch(/\d\d:\d\d:\d\d\.\d{3}.*INFO.*ingest listening/);
  }, 30000);

  test('LOG_FORMAT=pretty gives readable lines on a pipe', async () => {
    const line = listeningLine(await firstLines('pretty', false));
    expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(ingest\): ingest listening$/);
    expect(() => JSON.parse(line) as unknown).toThrow();
  }, 30000);

  test('LOG_FORMAT=json keeps JSON on a terminal', async () => {
    const line = listeningLine(await firstLines('json', true));
    expect(JSON.parse(line.replace(/\r$/, ''))).toMatchObject({ service: 'ingest', msg: 'ingest listening' });
  }, 30000);

  test('a bad LOG_FORMAT stops the process with exit 2 and says which values it takes', async () => {
    const running = start([process.execPath, INGEST], await environment('fancy'), ROOT);
    expect(await exitWithin(running, 15000)).toBe(2);
    expect(running.output()).toMatch(/LOG_FORMAT.*auto, json, pretty/);
  }, 30000);
});
