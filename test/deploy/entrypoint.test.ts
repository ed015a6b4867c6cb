/**
 * The image's start commands, run for real: the Dockerfile CMD (ingest) and the worker Deployment's
 * command, with the ConfigMap's environment, against a private redis-server. Each must become ready,
 * answer every probe path the manifests use, pass the Dockerfile HEALTHCHECK, and exit 0 on SIGTERM
 * within its grace period. The processes run in a folder laid out like the image (only what the
 * Dockerfile's final stage copies), so a dependency on files left out of the image shows up here.
 * Needs `npm run build` first (dist/).
 */
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { ENTRY_POINTS, HEALTH_PATHS, entryPoint, settingValue } from '../support/deploy-checks';
import { projectContext } from '../support/deploy-context';
import { preStopSleepSeconds, resolveEnv, secretData } from '../support/k8s';
import { createToken } from '../../cli/commands/token';
import {
  ROOT,
  dockerfileCmd,
  dockerfileEnv,
  dockerfileHealthcheck,
  dockerfileImageFiles,
  dockerfileWorkdir,
  loadBundle,
} from '../support/deploy-files';
import { exitWithin, httpGet, start, startRedis, stop, waitForProcessStatus, type Running } from '../support/entrypoint-processes';
import { freePort } from '../../launcher/free-port';

const bundle = loadBundle();
const ctx = projectContext(bundle);
const password = randomBytes(12).toString('hex');
const keyPrefix = `deploytest-${randomBytes(4).toString('hex')}`;
const READY_TIMEOUT_MS = 15000;

function deployment(name: string): IDeployment {
  const found = bundle.manifests.find((m) => m.doc.kind === 'Deployment' && m.doc.metadata?.name === name);
  if (!found) throw new Error(`no Deployment/${name} in k8s/`);
  return found.doc as unknown as IDeployment;
}

/** Probe paths a Deployment's container uses (startup, readiness, liveness). */
function probePaths(name: string): string[] {
  const container = deployment(name).spec?.template.spec?.containers[0];
  return [container?.startupProbe, container?.readinessProbe, container?.livenessProbe]
    .map((probe) => probe?.httpGet?.path)
    .filter((p): p is string => p !== undefined);
}

interface Role {
  name: 'ingest' | 'worker';
  argv: string[];
  deployment: string;
}

/** The ingest runs the image's own CMD; the worker runs what its Deployment says. */
const ROLES: Role[] = [
  { name: 'ingest', argv: dockerfileCmd(bundle.dockerfile) ?? [], deployment: 'ingest' },
  { name: 'worker', argv: deployment('worker').spec?.template.spec?.containers[0]?.command ?? [], deployment: 'worker' },
];

let redis: { port: number; running: Running } | undefined;
/** Working directory of the processes: the image's WORKDIR contents. */
let appDir = '';

/** A folder with what the image's final stage copies; node_modules is linked, not copied. */
function layOutImage(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'node-aggregation-image-'));
  for (const name of dockerfileImageFiles(bundle.dockerfile)) {
    const source = path.join(ROOT, name);
    if (!existsSync(source)) throw new Error(`the image copies ${name}, which does not exist here`);
    if (name === 'node_modules') symlinkSync(source, path.join(dir, name), 'dir');
    else cpSync(source, path.join(dir, name), { recursive: true });
  }
  return dir;
}

beforeAll(async () => {
  for (const entry of Object.keys(ENTRY_POINTS)) {
    if (!existsSync(path.join(ROOT, entry))) {
      throw new Error(`${entry} does not exist: run \`npm run build\` before the deploy tests`);
    }
  }
  appDir = layOutImage();
  redis = await startRedis(password);
});

afterAll(async () => {
  await stop(redis?.running);
  if (appDir !== '') rmSync(appDir, { recursive: true, force: true });
});

/** A token with the metrics scope, added to the shipped tokens Secret (which holds only comments). */
const scraper = createToken('deploy-test-scraper', ['metrics']);

/**
 * API_TOKENS_FILE must point at a key of a Secret volume the container mounts; the file the pod
 * would see is written locally (the Secret's text plus the scraper's line) and used instead.
 */
function mountedTokensFile(role: Role, env: NodeJS.ProcessEnv): string {
  const spec = deployment(role.deployment).spec?.template.spec;
  const configured = env.API_TOKENS_FILE ?? '';
  const mount = spec?.containers[0]?.volumeMounts?.find((m) => configured.startsWith(`${m.mountPath}/`));
  const secretName = spec?.volumes?.find((v) => v.name === mount?.name)?.secret?.secretName;
  const text = secretData(bundle.manifests, secretName)?.[configured.slice((mount?.mountPath.length ?? 0) + 1)];
  if (text === undefined) throw new Error(`API_TOKENS_FILE=${configured} is not a key of a Secret volume of Deployment/${role.deployment}`);
  const file = path.join(appDir, `api-tokens-${role.name}`);
  writeFileSync(file, `${text}\n${scraper.line}\n`);
  return file;
}

/** The environment the container gets in Kubernetes, pointed at the private Redis and free ports. */
async function environment(role: Role): Promise<{ env: NodeJS.ProcessEnv; port: number }> {
  const container = deployment(role.deployment).spec?.template.spec?.containers[0];
  if (!container) throw new Error(`Deployment/${role.deployment} has no container`);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    ...dockerfileEnv(bundle.dockerfile),
    ...resolveEnv(bundle.manifests, container).env,
    REDIS_URL: `redis://:${password}@127.0.0.1:${redis?.port ?? 0}`,
    KEY_PREFIX: keyPrefix,
    INGEST_PORT: String(await freePort()),
    WORKER_HEALTH_PORT: String(await freePort()),
  };
  env.API_TOKENS_FILE = mountedTokensFile(role, env);
  const portSetting = ENTRY_POINTS[entryPoint(role.argv, ctx, dockerfileWorkdir(bundle.dockerfile)).entry ?? '']?.portSetting;
  if (!portSetting) throw new Error(`${JSON.stringify(role.argv)} is not an entry point`);
  return { env, port: Number(env[portSetting]) };
}

function healthcheck(env: NodeJS.ProcessEnv): Running {
  const command = dockerfileHealthcheck(bundle.dockerfile)?.command;
  if (!command) throw new Error('Dockerfile has no exec-form HEALTHCHECK');
  return start(command, env, appDir);
}

describe.each(ROLES.map((r) => [r.name, r] as const))('%s start command', (_name, role) => {
  let running: Running | undefined;

  afterEach(async () => {
    await stop(running);
  });

  test('runs a real entry point of the build', () => {
    expect(entryPoint(role.argv, ctx, dockerfileWorkdir(bundle.dockerfile)).problems).toEqual([]);
  });

  test('gets ready, serves its probes, passes the HEALTHCHECK and exits 0 on SIGTERM within its grace period', async () => {
    const { env, port } = await environment(role);

    // Nothing listens yet: the healthcheck must fail, not pass by accident.
    expect(await exitWithin(healthcheck(env), 10000)).toBe(1);

    running = start(role.argv, env, appDir);
    await waitForProcessStatus(running, port, '/readyz', 200, READY_TIMEOUT_MS);

    for (const probe of probePaths(role.deployment)) {
      const res = await httpGet(port, probe);
      expect({ path: probe, status: res.status }).toEqual({ path: probe, status: 200 });
    }
    // HEALTH_PATHS (what the agreement checks accept) are really served, and not just any path.
    // /metrics needs a token with the metrics scope (docs/SECURITY.md); the probes are open.
    const scrape = { authorization: `Bearer ${scraper.token}` };
    for (const healthPath of HEALTH_PATHS) {
      const res = await httpGet(port, healthPath, 2000, healthPath === '/metrics' ? scrape : {});
      expect({ path: healthPath, status: res.status }).toEqual({ path: healthPath, status: 200 });
    }
    expect((await httpGet(port, '/metrics', 2000, scrape)).body).toMatch(/^# (HELP|TYPE) /m);
    expect((await httpGet(port, '/metrics')).status).toBe(401);
    expect((await httpGet(port, '/nope')).status).toBe(404);

    expect(await exitWithin(healthcheck(env), 10000)).toBe(0);

    // Ready means the partition streams and the group exist: under the names the KEDA triggers use.
    const client = new Redis(env.REDIS_URL ?? '', { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await client.connect();
      const partitions = Number(settingValue(ctx, env, 'STREAM_PARTITIONS'));
      const group = settingValue(ctx, env, 'CONSUMER_GROUP');
      for (let n = 0; n < partitions; n += 1) {
        const groups = (await client.xinfo('GROUPS', ctx.streamKey(keyPrefix, n, partitions))) as unknown[][];
        expect(groups.map((g) => g[g.indexOf('name') + 1])).toContain(group);
      }
    } finally {
      client.disconnect();
    }

    const spec = deployment(role.deployment).spec?.template.spec;
    const container = spec?.containers[0];
    const graceMs = ((spec?.terminationGracePeriodSeconds ?? 30) - (container ? preStopSleepSeconds(container) : 0)) * 1000;
    const started = Date.now();
    running.child.kill('SIGTERM');
    const code = await exitWithin(running, graceMs);
    if (code !== 0) throw new Error(`exit after SIGTERM: ${String(code)} after ${Date.now() - started} ms; output:\n${running.output()}`);
  }, 90000);
});
