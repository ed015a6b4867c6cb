/**
 * Agreement checks between the deployment files and the code. Each check is a pure function of the
 * loaded files (a Bundle) and what the code defines (a Context) and returns its problems, one
 * sentence each; an empty list means the check passes. Tests also feed them mutated copies.
 */
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import {
  appContainers,
  findObject,
  imageRepository,
  ofKind,
  podTemplates,
  preStopSleepSeconds,
  resolveContainerPort,
  resolveEnv,
  secretData,
  selects,
  where,
  workloads,
  type IContainer,
  type IService,
  type PodContainer,
  type Workload,
} from './k8s';
import {
  dockerfileCmd,
  dockerfileEnv,
  dockerfileHealthcheck,
  dockerfileImageFiles,
  dockerfileWorkdir,
  execForm,
  finalStage,
  isObject,
  lastInstruction,
  type Bundle,
  type ComposeEnvironment,
  type ComposeService,
  type Manifest,
} from './deploy-files';
import type { ServiceRole } from '../../launcher/service-node-flags';

/** Health endpoints both processes serve; entrypoint.test.ts checks a running process answers them. */
export const HEALTH_PATHS: readonly string[] = ['/health', '/livez', '/readyz', '/metrics'];

/** Build outputs that start a process, and the setting that picks the port its health endpoints use. */
export const ENTRY_POINTS: Readonly<Record<string, { role: 'ingest' | 'worker'; portSetting: string }>> = {
  'dist/ingest/main.js': { role: 'ingest', portSetting: 'INGEST_PORT' },
  'dist/worker/main.js': { role: 'worker', portSetting: 'WORKER_HEALTH_PORT' },
};

export interface SettingLike {
  defaultValue: string | (() => string);
}

export interface Context {
  /** SETTINGS of shared/config.ts: every variable the services read. */
  settings: Readonly<Record<string, SettingLike>>;
  /** loadConfig of shared/config.ts: throws for values it rejects. */
  loadConfig: (env: NodeJS.ProcessEnv) => unknown;
  healthPaths: readonly string[];
  /** Image repository of this project, as named in the kustomization's images:. */
  appImage: string;
  /** Whether a path relative to the repository root exists (dist/ entry points). */
  entryExists: (file: string) => boolean;
  /** Stream key of a partition, as the code builds it (shared/keys.ts). */
  streamKey: (prefix: string, partition: number, count: number) => string;
  /** Node flags every start of ingest or worker passes (launcher/service-node-flags.ts). */
  serviceNodeFlags: Readonly<Record<ServiceRole, readonly string[]>>;
}

export type Check = (bundle: Bundle, ctx: Context) => string[];

// --- shared helpers ------------------------------------------------------------------

type Env = Record<string, string | undefined>;

/** The value a process would use for a setting: the variable if set and non-empty, else the default. */
export function settingValue(ctx: Context, env: Env, name: string): string | undefined {
  const given = env[name];
  if (given !== undefined && given !== '') return given.trim();
  const setting = ctx.settings[name];
  if (!setting) return undefined;
  return typeof setting.defaultValue === 'function' ? setting.defaultValue() : setting.defaultValue;
}

export function numberSetting(ctx: Context, env: Env, name: string): number {
  return Number(settingValue(ctx, env, name));
}

function configProblems(ctx: Context, env: Env): string[] {
  try {
    ctx.loadConfig(env);
    return [];
  } catch (error) {
    const problems = (error as { problems?: unknown }).problems;
    return Array.isArray(problems) ? problems.map(String) : [String((error as Error).message)];
  }
}

export interface EntryPoint {
  argv: string[];
  /** The Node flags before the script. */
  nodeFlags: string[];
  entry?: string;
  role?: 'ingest' | 'worker';
  portSetting?: string;
  problems: string[];
}

/**
 * What a command line starts: `node <flags> <entry>` with entry one of ENTRY_POINTS, existing in
 * dist/, and the flags the services run with among the flags.
 */
export function entryPoint(argv: string[] | undefined, ctx: Context, workdir: string): EntryPoint {
  if (!argv || argv.length === 0) return { argv: [], nodeFlags: [], problems: ['has no command (exec-form CMD or command)'] };
  const [program = '', ...rest] = argv;
  const flagCount = rest.findIndex((arg) => !arg.startsWith('-'));
  const nodeFlags = rest.slice(0, flagCount === -1 ? rest.length : flagCount);
  const script = rest[nodeFlags.length] ?? '';
  const problems: string[] = [];
  if (program !== 'node' && !program.endsWith('/node')) {
    problems.push(`command ${JSON.stringify(argv)} does not start node directly (a shell or wrapper would keep SIGTERM from it)`);
  }
  // Relative to WORKDIR, as the image runs it.
  const dir = `${workdir.replace(/\/+$/, '')}/`;
  const entry = (script.startsWith(dir) ? script.slice(dir.length) : script).replace(/^\.\//, '');
  const known = ENTRY_POINTS[entry];
  if (!known) {
    problems.push(`command ${JSON.stringify(argv)} does not run an entry point (${Object.keys(ENTRY_POINTS).join(' or ')})`);
  } else if (!ctx.entryExists(entry)) {
    problems.push(`${entry} does not exist: run \`npm run build\` before the deploy tests`);
  }
  const missing = known ? ctx.serviceNodeFlags[known.role].filter((flag) => !nodeFlags.includes(flag)) : [];
  if (missing.length > 0) {
    problems.push(
      `command ${JSON.stringify(argv)} leaves out the services' Node flags ${missing.join(' ')} (launcher/service-node-flags.ts)`,
    );
  }
  return { argv, nodeFlags, entry, role: known?.role, portSetting: known?.portSetting, problems };
}

/** argv Kubernetes runs: command+args, or the image's ENTRYPOINT with args or CMD. */
function containerArgv(container: IContainer, bundle: Bundle): string[] | undefined {
  if (container.command) return [...container.command, ...(container.args ?? [])];
  const entrypoint = execForm(lastInstruction(bundle.dockerfile, 'ENTRYPOINT')?.args ?? '[]') ?? [];
  return [...entrypoint, ...(container.args ?? dockerfileCmd(bundle.dockerfile) ?? [])];
}

function composeArgv(service: ComposeService, bundle: Bundle): string[] | undefined {
  if (service.command === undefined) return dockerfileCmd(bundle.dockerfile);
  return Array.isArray(service.command) ? service.command : service.command.trim().split(/\s+/);
}

function composeEnv(environment: ComposeEnvironment | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  if (Array.isArray(environment)) {
    for (const item of environment) {
      const eq = item.indexOf('=');
      if (eq > 0) env[item.slice(0, eq)] = item.slice(eq + 1);
    }
  } else {
    for (const [name, value] of Object.entries(environment ?? {})) {
      if (value !== null) env[name] = String(value);
    }
  }
  return env;
}

function isAppService(service: ComposeService, ctx: Context): boolean {
  return service.build !== undefined || imageRepository(service.image) === ctx.appImage;
}

function appServices(bundle: Bundle, ctx: Context): [string, ComposeService][] {
  return Object.entries(bundle.compose.services).filter(([, service]) => isAppService(service, ctx));
}

/** ConfigMaps the app containers load whole (envFrom): each key is a variable of the services. */
function appConfigMaps(bundle: Bundle, ctx: Context): { manifest: Manifest; obj: { data?: Record<string, string> } }[] {
  const loaded = new Set(
    appContainers(bundle.manifests, ctx.appImage).flatMap(({ container }) =>
      (container.envFrom ?? []).flatMap((source) => (source.configMapRef?.name ? [source.configMapRef.name] : [])),
    ),
  );
  return ofKind<{ data?: Record<string, string> }>(bundle.manifests, 'ConfigMap').filter(({ manifest }) =>
    loaded.has(manifest.doc.metadata?.name ?? ''),
  );
}

export interface AppContainer extends PodContainer {
  env: Record<string, string>;
  entry: EntryPoint;
  label: string;
}

export function apps(bundle: Bundle, ctx: Context): AppContainer[] {
  return appContainers(bundle.manifests, ctx.appImage).map((pc) => ({
    ...pc,
    env: resolveEnv(bundle.manifests, pc.container).env,
    entry: entryPoint(containerArgv(pc.container, bundle), ctx, dockerfileWorkdir(bundle.dockerfile)),
    label: `${where(pc.workload.manifest)} container ${pc.container.name}`,
  }));
}

/** Seconds a process may take to exit after SIGTERM: the drain, plus a blocking read for workers. */
function drainSeconds(ctx: Context, env: Env, role: 'ingest' | 'worker' | undefined): number {
  const shutdown = numberSetting(ctx, env, 'SHUTDOWN_TIMEOUT_MS') / 1000;
  return role === 'worker' ? shutdown + numberSetting(ctx, env, 'WORKER_BLOCK_MS') / 1000 : shutdown;
}

/** Compose duration (1m30s, 45s, 500ms) in seconds. */
export function composeDurationSeconds(text: string): number {
  let total = 0;
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001, us: 1e-6 };
  const parts = text.matchAll(/(\d+(?:\.\d+)?)(ms|us|h|m|s)/g);
  for (const part of parts) total += Number(part[1]) * (units[part[2] ?? 's'] ?? 0);
  return total;
}

/** Host the Kubernetes DNS name points to, as "service.namespace", or the name itself when external. */
function clusterService(host: string, namespace: string): { name: string; namespace: string } | undefined {
  const labels = host.split('.');
  if (labels.length === 1) return { name: host, namespace };
  if (labels.length === 2 || (labels[2] === 'svc' && (labels.length === 3 || labels.slice(3).join('.') === 'cluster.local'))) {
    return { name: labels[0] ?? '', namespace: labels[1] ?? '' };
  }
  return undefined;
}

export function namespaceOf(manifest: Manifest, bundle: Bundle): string {
  return manifest.doc.metadata?.namespace ?? bundle.base.namespace ?? 'default';
}

// --- checks ---------------------------------------------------------------------------

/** Every variable set for this project's processes is a setting the code reads. */
export const checkEnvNames: Check = (bundle, ctx) => {
  const problems: string[] = [];
  for (const { workload, container } of appContainers(bundle.manifests, ctx.appImage)) {
    for (const { name, source } of resolveEnv(bundle.manifests, container).names) {
      if (!(name in ctx.settings)) {
        problems.push(
          `${where(workload.manifest)} container ${container.name}: ${name} (from ${source}) is not a setting of shared/config.ts`,
        );
      }
    }
  }
  for (const { manifest, obj } of appConfigMaps(bundle, ctx)) {
    for (const name of Object.keys(obj.data ?? {})) {
      if (!(name in ctx.settings)) problems.push(`${where(manifest)}: key ${name} is not a setting of shared/config.ts`);
    }
  }
  for (const [name, service] of appServices(bundle, ctx)) {
    for (const variable of Object.keys(composeEnv(service.environment))) {
      if (!(variable in ctx.settings)) {
        problems.push(`docker-compose.yml service ${name}: ${variable} is not a setting of shared/config.ts`);
      }
    }
  }
  return problems;
};

/** Every value given is one loadConfig accepts, as each process would see its whole environment. */
export const checkConfigValues: Check = (bundle, ctx) => {
  const problems: string[] = [];
  for (const app of apps(bundle, ctx)) {
    for (const problem of configProblems(ctx, app.env)) problems.push(`${app.label}: ${problem}`);
  }
  for (const { manifest, obj } of appConfigMaps(bundle, ctx)) {
    for (const problem of configProblems(ctx, obj.data ?? {})) problems.push(`${where(manifest)}: ${problem}`);
  }
  for (const [name, service] of appServices(bundle, ctx)) {
    const env = { ...dockerfileEnv(bundle.dockerfile), ...composeEnv(service.environment) };
    for (const problem of configProblems(ctx, env)) problems.push(`docker-compose.yml service ${name}: ${problem}`);
  }
  return problems;
};

/**
 * A scaled worker must not share one consumer name: each replica would take the others' pending
 * entries as its own. The default (hostname-pid) is unique per pod and per container.
 */
export const checkConsumerNameUnset: Check = (bundle, ctx) => {
  const problems: string[] = [];
  for (const app of apps(bundle, ctx)) {
    if (app.env.WORKER_CONSUMER_NAME !== undefined) {
      problems.push(`${app.label}: WORKER_CONSUMER_NAME is set; replicas would share one consumer name`);
    }
  }
  for (const [name, service] of appServices(bundle, ctx)) {
    if (composeEnv(service.environment).WORKER_CONSUMER_NAME !== undefined) {
      problems.push(`docker-compose.yml service ${name}: WORKER_CONSUMER_NAME is set; --scale would share one consumer name`);
    }
  }
  return problems;
};

/** ConfigMaps, Secrets and keys referred to exist. */
export const checkReferences: Check = (bundle) => {
  const problems: string[] = [];
  for (const workload of workloads(bundle.manifests)) {
    for (const container of workload.template.spec?.containers ?? []) {
      for (const problem of resolveEnv(bundle.manifests, container).problems) {
        problems.push(`${where(workload.manifest)} container ${container.name}: ${problem}`);
      }
    }
  }
  for (const { manifest, obj } of ofKind<{ spec?: { secretTargetRef?: { name?: string; key?: string }[] } }>(
    bundle.manifests,
    'TriggerAuthentication',
  )) {
    for (const ref of obj.spec?.secretTargetRef ?? []) {
      if (secretData(bundle.manifests, ref.name)?.[ref.key ?? ''] === undefined) {
        problems.push(`${where(manifest)}: secretTargetRef ${ref.name ?? ''}/${ref.key ?? ''} does not exist`);
      }
    }
  }
  return problems;
};

/** Probes use endpoints the process serves, on the port its settings make it listen on. */
export const checkProbes: Check = (bundle, ctx) => {
  const problems: string[] = [];
  for (const app of apps(bundle, ctx)) {
    const { container, entry, env, label } = app;
    if (!entry.portSetting) {
      problems.push(`${label}: cannot tell which process runs, so not which port it listens on`);
      continue;
    }
    const listening = numberSetting(ctx, env, entry.portSetting);
    if (!(container.ports ?? []).some((p) => p.containerPort === listening)) {
      problems.push(`${label}: no containerPort is ${listening}, the ${entry.portSetting} the process listens on`);
    }
    const probes: [string, IProbe | undefined][] = [
      ['startupProbe', container.startupProbe],
      ['readinessProbe', container.readinessProbe],
      ['livenessProbe', container.livenessProbe],
    ];
    for (const [kind, probe] of probes) {
      if (!probe) {
        problems.push(`${label}: has no ${kind}`);
        continue;
      }
      const http = probe.httpGet;
      if (!http) {
        problems.push(`${label}: ${kind} is not an httpGet on the health endpoints`);
        continue;
      }
      const path = http.path ?? '/';
      if (!ctx.healthPaths.includes(path)) {
        problems.push(`${label}: ${kind} path ${path} is not served (health paths: ${ctx.healthPaths.join(', ')})`);
      }
      if (kind === 'readinessProbe' && path !== '/readyz') {
        problems.push(`${label}: readinessProbe path ${path} should be /readyz (ready = Redis reachable and not draining)`);
      }
      if (kind !== 'readinessProbe' && path === '/readyz') {
        problems.push(`${label}: ${kind} uses /readyz: a Redis outage would restart every pod`);
      }
      if ((http.scheme ?? 'HTTP') !== 'HTTP') problems.push(`${label}: ${kind} uses ${http.scheme ?? ''}, the process serves HTTP`);
      const port = resolveContainerPort(container, http.port);
      if (port === undefined) {
        problems.push(`${label}: ${kind} port ${String(http.port)} is not a port of the container`);
      } else if (port !== listening) {
        problems.push(`${label}: ${kind} port ${port} is not ${entry.portSetting}=${listening}`);
      }
    }
  }
  return problems;
};

/** Scrape annotations name the port and path of /metrics. */
export const checkMetricsAnnotations: Check = (bundle, ctx) => {
  const problems: string[] = [];
  for (const app of apps(bundle, ctx)) {
    const annotations = app.workload.template.metadata?.annotations ?? {};
    if (annotations['prometheus.io/scrape'] !== 'true' || !app.entry.portSetting) continue;
    const listening = numberSetting(ctx, app.env, app.entry.portSetting);
    if (Number(annotations['prometheus.io/port']) !== listening) {
      problems.push(
        `${app.label}: prometheus.io/port ${annotations['prometheus.io/port'] ?? '(unset)'} is not ${app.entry.portSetting}=${listening}`,
      );
    }
    const path = annotations['prometheus.io/path'] ?? '/metrics';
    if (path !== '/metrics' || !ctx.healthPaths.includes(path)) {
      problems.push(`${app.label}: prometheus.io/path ${path} is not the metrics endpoint`);
    }
  }
  return problems;
};

/** Containers, compose services and the image's CMD start a real entry point of the build. */
export const checkEntrypoints: Check = (bundle, ctx) => {
  const problems: string[] = [];
  const workdir = dockerfileWorkdir(bundle.dockerfile);
  const cmd = lastInstruction(bundle.dockerfile, 'CMD');
  if (!cmd || !execForm(cmd.args)) problems.push('Dockerfile: CMD must be exec form (a JSON array) so node gets the signals');
  for (const problem of entryPoint(dockerfileCmd(bundle.dockerfile), ctx, workdir).problems) {
    problems.push(`Dockerfile CMD: ${problem}`);
  }
  if (entryPoint(dockerfileCmd(bundle.dockerfile), ctx, workdir).role !== 'ingest') {
    problems.push('Dockerfile CMD: the default command should run the ingest API');
  }
  const entrypoint = lastInstruction(bundle.dockerfile, 'ENTRYPOINT');
  if (entrypoint && (execForm(entrypoint.args) ?? ['shell']).length > 0) {
    problems.push('Dockerfile: ENTRYPOINT wraps the command; clear it (ENTRYPOINT []) so node is PID 1');
  }
  for (const app of apps(bundle, ctx)) {
    for (const problem of app.entry.problems) problems.push(`${app.label}: ${problem}`);
  }
  for (const [name, service] of appServices(bundle, ctx)) {
    for (const problem of entryPoint(composeArgv(service, bundle), ctx, workdir).problems) {
      problems.push(`docker-compose.yml service ${name}: ${problem}`);
    }
  }
  const roles = new Set(apps(bundle, ctx).map((app) => app.entry.role));
  for (const role of ['ingest', 'worker'] as const) {
    if (!roles.has(role)) problems.push(`k8s: no Deployment runs the ${role}`);
  }
  return problems;
};

/** Labels are set, selectors select pod templates, scale targets exist. */
export const checkLabelsAndSelectors: Check = (bundle) => {
  const problems: string[] = [];
  const all = workloads(bundle.manifests);
  const templateLabels = (w: Workload) => w.template.metadata?.labels ?? {};

  for (const manifest of bundle.manifests) {
    const labels = manifest.doc.metadata?.labels ?? {};
    const required =
      manifest.doc.kind === 'Namespace' ? ['app.kubernetes.io/name'] : ['app.kubernetes.io/name', 'app.kubernetes.io/component'];
    for (const label of required) {
      if (!labels[label]) problems.push(`${where(manifest)}: label ${label} is missing`);
    }
  }
  for (const w of all) {
    for (const label of ['app.kubernetes.io/name', 'app.kubernetes.io/component']) {
      if (!templateLabels(w)[label]) problems.push(`${where(w.manifest)}: pod template label ${label} is missing`);
    }
    if (w.hasMatchExpressions) problems.push(`${where(w.manifest)}: use matchLabels only`);
    if (!selects(w.matchLabels, templateLabels(w))) {
      problems.push(`${where(w.manifest)}: selector ${JSON.stringify(w.matchLabels)} does not match its pod template labels`);
    }
    for (const other of all) {
      if (other !== w && selects(w.matchLabels, templateLabels(other))) {
        problems.push(`${where(w.manifest)}: selector also matches the pods of ${where(other.manifest)}`);
      }
    }
    for (const constraint of w.template.spec?.topologySpreadConstraints ?? []) {
      if (!selects(constraint.labelSelector?.matchLabels, templateLabels(w))) {
        problems.push(`${where(w.manifest)}: topologySpreadConstraints labelSelector does not match its own pods`);
      }
    }
  }
  for (const { manifest, obj } of ofKind<IService>(bundle.manifests, 'Service')) {
    if (!all.some((w) => selects(obj.spec?.selector, templateLabels(w)))) {
      problems.push(`${where(manifest)}: selector ${JSON.stringify(obj.spec?.selector ?? {})} selects no pod template`);
    }
  }
  for (const { manifest, obj } of ofKind<IPodDisruptionBudget>(bundle.manifests, 'PodDisruptionBudget')) {
    if (!all.some((w) => selects(obj.spec?.selector?.matchLabels, templateLabels(w)))) {
      problems.push(`${where(manifest)}: selector selects no pod template`);
    }
  }
  const targets: { manifest: Manifest; ref?: { apiVersion?: string; kind?: string; name?: string } }[] = [
    ...ofKind<IHorizontalPodAutoscaler>(bundle.manifests, 'HorizontalPodAutoscaler').map(({ manifest, obj }) => ({
      manifest,
      ref: obj.spec?.scaleTargetRef,
    })),
    ...ofKind<{ spec?: { scaleTargetRef?: { apiVersion?: string; kind?: string; name?: string } } }>(bundle.manifests, 'ScaledObject').map(
      ({ manifest, obj }) => ({ manifest, ref: { kind: 'Deployment', ...obj.spec?.scaleTargetRef } }),
    ),
  ];
  for (const { manifest, ref } of targets) {
    const target = all.find((w) => w.kind === ref?.kind && w.name === ref?.name);
    if (!target || (ref?.apiVersion !== undefined && ref.apiVersion !== 'apps/v1')) {
      problems.push(`${where(manifest)}: scaleTargetRef ${ref?.kind ?? '?'}/${ref?.name ?? '?'} is not a workload in the manifests`);
    }
  }
  for (const w of all.filter((x) => x.kind === 'StatefulSet')) {
    const serviceName = (w.manifest.doc as { spec?: { serviceName?: string } }).spec?.serviceName;
    const service = findObject<IService>(bundle.manifests, 'Service', serviceName);
    if (!service || service.spec?.clusterIP !== 'None' || !selects(service.spec.selector, templateLabels(w))) {
      problems.push(`${where(w.manifest)}: serviceName ${serviceName ?? '(unset)'} is not a headless Service selecting its pods`);
    }
  }
  return problems;
};

/** Every Service port reaches a port of the containers it selects. */
export const checkServicePorts: Check = (bundle) => {
  const problems: string[] = [];
  for (const { manifest, obj } of ofKind<IService>(bundle.manifests, 'Service')) {
    const selected = workloads(bundle.manifests).filter((w) => selects(obj.spec?.selector, w.template.metadata?.labels));
    for (const port of obj.spec?.ports ?? []) {
      const target = port.targetPort ?? port.port;
      for (const w of selected) {
        const containers = w.template.spec?.containers ?? [];
        const found = containers.some((c) => {
          const resolved = resolveContainerPort(c, target);
          return resolved !== undefined && (c.ports ?? []).some((p) => p.containerPort === resolved);
        });
        if (!found) problems.push(`${where(manifest)}: targetPort ${String(target)} is not a containerPort of ${where(w.manifest)}`);
      }
    }
  }
  return problems;
};

/** The grace period covers the preStop sleep and the drain, so the process exits 0 instead of being killed. */
export const checkGracePeriods: Check = (bundle, ctx) => {
  const problems: string[] = [];
  for (const app of apps(bundle, ctx)) {
    const grace = app.workload.template.spec?.terminationGracePeriodSeconds ?? 30;
    const preStop = preStopSleepSeconds(app.container);
    const drain = drainSeconds(ctx, app.env, app.entry.role);
    if (!(grace > preStop + drain)) {
      problems.push(`${app.label}: terminationGracePeriodSeconds ${grace} is not more than preStop ${preStop} s + drain ${drain} s`);
    }
    if (app.entry.role === 'ingest' && preStop <= 0) {
      problems.push(`${app.label}: no preStop sleep: requests still routed during endpoint removal would fail`);
    }
  }
  for (const [name, service] of appServices(bundle, ctx)) {
    const env = composeEnv(service.environment);
    const role = entryPoint(composeArgv(service, bundle), ctx, dockerfileWorkdir(bundle.dockerfile)).role;
    const grace = composeDurationSeconds(service.stop_grace_period ?? '10s');
    const drain = drainSeconds(ctx, env, role);
    if (!(grace > drain)) {
      problems.push(
        `docker-compose.yml service ${name}: stop_grace_period ${service.stop_grace_period ?? '10s (default)'} is not more than the drain ${drain} s`,
      );
    }
  }
  return problems;
};

/** Restricted pod security, and resources, for every container. */
export const checkSecurity: Check = (bundle) => {
  const problems: string[] = [];
  for (const w of podTemplates(bundle.manifests)) {
    const pod = w.template.spec?.securityContext ?? {};
    for (const c of w.template.spec?.containers ?? []) {
      const sc = c.securityContext ?? {};
      const label = `${where(w.manifest)} container ${c.name}`;
      if ((sc.runAsNonRoot ?? pod.runAsNonRoot) !== true) problems.push(`${label}: runAsNonRoot is not true`);
      if ((sc.runAsUser ?? pod.runAsUser) === 0) problems.push(`${label}: runs as uid 0`);
      if (sc.allowPrivilegeEscalation !== false) problems.push(`${label}: allowPrivilegeEscalation is not false`);
      if (sc.readOnlyRootFilesystem !== true) problems.push(`${label}: readOnlyRootFilesystem is not true`);
      if (sc.privileged === true) problems.push(`${label}: is privileged`);
      if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push(`${label}: capabilities do not drop ALL`);
      if ((sc.capabilities?.add ?? []).length > 0) problems.push(`${label}: adds capabilities`);
      const seccomp = (sc.seccompProfile ?? pod.seccompProfile)?.type;
      if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') problems.push(`${label}: seccompProfile is not RuntimeDefault`);
      for (const kind of ['requests', 'limits'] as const) {
        for (const resource of ['cpu', 'memory']) {
          if (c.resources?.[kind]?.[resource] === undefined) problems.push(`${label}: resources.${kind}.${resource} is not set`);
        }
      }
    }
  }
  return problems;
};

/** The value of a redis-server flag (`--maxmemory 700mb`), with $(VAR) expanded from the container's env. */
export function redisArgument(bundle: Bundle, container: IContainer, flag: string): string | undefined {
  const args = [...(container.command ?? []), ...(container.args ?? [])];
  const at = args.indexOf(flag);
  if (at === -1) return undefined;
  const env = resolveEnv(bundle.manifests, container).env;
  return (args[at + 1] ?? '').replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => env[name] ?? whole);
}

/** The password a redis-server container requires (--requirepass), if any. */
export function requiredPassword(bundle: Bundle, container: IContainer): string | undefined {
  return redisArgument(bundle, container, '--requirepass');
}

/**
 * The apps reach Redis with REDIS_URL: its host must be the Redis Service (when Redis runs in the
 * cluster), on a port the Service has, with the password the Redis server requires.
 */
export const checkRedisConnection: Check = (bundle, ctx) => {
  const problems: string[] = [];
  for (const app of apps(bundle, ctx)) {
    const raw = settingValue(ctx, app.env, 'REDIS_URL') ?? '';
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      continue; // reported by checkConfigValues
    }
    const target = clusterService(url.hostname, namespaceOf(app.workload.manifest, bundle));
    if (!target) continue; // external Redis
    const service = ofKind<IService>(bundle.manifests, 'Service').find(
      ({ manifest, obj }) => obj.metadata?.name === target.name && namespaceOf(manifest, bundle) === target.namespace,
    );
    if (!service) {
      problems.push(`${app.label}: REDIS_URL host ${url.hostname} is not a Service in the manifests`);
      continue;
    }
    const port = Number(url.port || 6379);
    const servicePort = service.obj.spec?.ports?.find((p) => p.port === port);
    if (!servicePort) problems.push(`${app.label}: REDIS_URL port ${port} is not a port of Service ${target.name}`);
    for (const w of workloads(bundle.manifests).filter((x) => selects(service.obj.spec?.selector, x.template.metadata?.labels))) {
      for (const c of w.template.spec?.containers ?? []) {
        const required = requiredPassword(bundle, c);
        if (required === undefined) continue;
        if (decodeURIComponent(url.password) !== required) {
          problems.push(`${app.label}: the password in REDIS_URL is not the one ${where(w.manifest)} requires (--requirepass)`);
        }
      }
    }
  }
  return problems;
};

interface ScaledObjectSpec {
  scaleTargetRef?: { name?: string };
  triggers?: { type?: string; metadata?: Record<string, string>; authenticationRef?: { name?: string } }[];
}

/** `host:port` items of a comma-separated list (REDIS_CLUSTER_NODES, KEDA's addresses). */
export function hostPorts(list: string | undefined): { host: string; port: number }[] {
  return (list ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .map((item) => {
      const colon = item.lastIndexOf(':');
      return colon === -1 ? { host: item, port: 6379 } : { host: item.slice(0, colon), port: Number(item.slice(colon + 1)) };
    });
}

/** A Kubernetes DNS name as its fully qualified form, seen from `namespace` (external names as they are). */
export function qualifiedHost(host: string, namespace: string): string {
  if (host.endsWith('.svc.cluster.local')) return host;
  if (host.endsWith('.svc')) return `${host}.cluster.local`;
  // service, or pod.service of a StatefulSet: the namespace's own search domain comes first.
  return host.split('.').length <= 2 ? `${host}.${namespace}.svc.cluster.local` : host;
}

/** The seed nodes of cluster mode (REDIS_CLUSTER_NODES), empty for a single Redis. */
export function clusterSeeds(ctx: Context, env: Env): { host: string; port: number }[] {
  return hostPorts(settingValue(ctx, env, 'REDIS_CLUSTER_NODES'));
}

/**
 * KEDA triggers watch exactly the partition streams and group the workers use, on their Redis:
 * redis-streams on the Redis of REDIS_URL, or in cluster mode redis-cluster-streams on seed nodes
 * of REDIS_CLUSTER_NODES.
 */
export const checkKeda: Check = (bundle, ctx) => {
  const problems: string[] = [];
  for (const { manifest, obj } of ofKind<{ spec?: ScaledObjectSpec }>(bundle.manifests, 'ScaledObject')) {
    const label = where(manifest);
    const target = apps(bundle, ctx).find((a) => a.workload.kind === 'Deployment' && a.workload.name === obj.spec?.scaleTargetRef?.name);
    if (!target) {
      problems.push(`${label}: scaleTargetRef is not a Deployment running the app`);
      continue;
    }
    if (target.entry.role !== 'worker') problems.push(`${label}: scales ${target.workload.name}, which does not run the worker`);
    const prefix = settingValue(ctx, target.env, 'KEY_PREFIX') ?? '';
    const partitions = numberSetting(ctx, target.env, 'STREAM_PARTITIONS');
    const group = settingValue(ctx, target.env, 'CONSUMER_GROUP');
    const seeds = clusterSeeds(ctx, target.env);
    const type = seeds.length > 0 ? 'redis-cluster-streams' : 'redis-streams';
    const expected = Array.from({ length: partitions }, (_, n) => ctx.streamKey(prefix, n, partitions));
    const triggers = (obj.spec?.triggers ?? []).filter((t) => t.type === 'redis-streams' || t.type === 'redis-cluster-streams');
    for (const trigger of triggers.filter((t) => t.type !== type)) {
      problems.push(
        `${label}: trigger ${trigger.metadata?.stream ?? ''} is ${trigger.type ?? ''}, but the workers use ${seeds.length > 0 ? 'a Redis Cluster (REDIS_CLUSTER_NODES)' : 'a single Redis'}: use ${type}`,
      );
    }
    const streamsWith = (threshold: string) =>
      triggers.filter((t) => t.metadata?.[threshold] !== undefined).map((t) => t.metadata?.stream ?? '');
    for (const stream of expected) {
      // Lag misses entries delivered to a consumer that died or hangs; pending counts those.
      if (!streamsWith('lagCount').includes(stream)) problems.push(`${label}: no ${type} trigger for stream ${stream} with lagCount`);
      if (!streamsWith('pendingEntriesCount').includes(stream)) {
        problems.push(`${label}: no ${type} trigger for stream ${stream} with pendingEntriesCount`);
      }
    }
    for (const stream of triggers.map((t) => t.metadata?.stream ?? '')) {
      if (!expected.includes(stream)) problems.push(`${label}: trigger stream ${stream} is not one of the ${partitions} partition streams`);
    }
    let redisUrl: URL | undefined;
    try {
      redisUrl = new URL(settingValue(ctx, target.env, 'REDIS_URL') ?? '');
    } catch {
      redisUrl = undefined;
    }
    const namespace = namespaceOf(manifest, bundle);
    const appNamespace = namespaceOf(target.workload.manifest, bundle);
    const seedNames = seeds.map((seed) => `${qualifiedHost(seed.host, appNamespace)}:${seed.port}`);
    for (const trigger of triggers) {
      const meta = trigger.metadata ?? {};
      if (meta.consumerGroup !== group) {
        problems.push(
          `${label}: trigger ${meta.stream ?? ''} consumerGroup ${meta.consumerGroup ?? '(unset)'} is not CONSUMER_GROUP=${group ?? ''}`,
        );
      }
      // KEDA takes one threshold per trigger (pendingEntriesCount before streamLength before lagCount).
      const thresholds = ['lagCount', 'pendingEntriesCount', 'streamLength'].filter((t) => meta[t] !== undefined);
      if (thresholds.length !== 1) {
        problems.push(
          `${label}: trigger ${meta.stream ?? ''} needs exactly one of lagCount, pendingEntriesCount (has ${thresholds.join(', ') || 'none'})`,
        );
      } else if (!/^[1-9]\d*$/.test(meta[thresholds[0] ?? ''] ?? '')) {
        problems.push(`${label}: trigger ${meta.stream ?? ''} has no positive ${thresholds[0] ?? ''}`);
      }
      if (trigger.type === 'redis-cluster-streams' && seeds.length > 0) {
        for (const address of hostPorts(meta.addresses)) {
          // The operator resolves names from its own namespace.
          if (address.host.split('.').length <= 2) {
            problems.push(`${label}: trigger address ${address.host} is not fully qualified; the KEDA operator runs in another namespace`);
          }
          if (!seedNames.includes(`${qualifiedHost(address.host, namespace)}:${address.port}`)) {
            problems.push(`${label}: trigger address ${address.host}:${address.port} is not a seed node of REDIS_CLUSTER_NODES`);
          }
        }
      } else if (trigger.type === 'redis-streams' && redisUrl && meta.address) {
        const [host = '', port = '6379'] = meta.address.split(':');
        const same =
          JSON.stringify(clusterService(host, namespace) ?? host) ===
          JSON.stringify(clusterService(redisUrl.hostname, appNamespace) ?? redisUrl.hostname);
        if (!same || Number(port) !== Number(redisUrl.port || 6379)) {
          problems.push(`${label}: trigger address ${meta.address} is not the Redis of REDIS_URL (${redisUrl.host})`);
        }
      }
      const auth = trigger.authenticationRef?.name;
      if (auth !== undefined && !findObject(bundle.manifests, 'TriggerAuthentication', auth)) {
        problems.push(`${label}: authenticationRef ${auth} is not a TriggerAuthentication in the manifests`);
      }
      if (redisUrl?.password && auth === undefined && meta.passwordFromEnv === undefined) {
        problems.push(`${label}: Redis needs a password but trigger ${meta.stream ?? ''} has no authentication`);
      }
    }
  }
  return problems;
};

/** Compose: Redis persists and is healthy before the apps start; apps are configured and scalable. */
export const checkCompose: Check = (bundle, ctx) => {
  const problems: string[] = [];
  const { services } = bundle.compose;
  const declaredVolumes = Object.keys(bundle.compose.volumes ?? {});
  for (const [name, service] of Object.entries(services)) {
    if (isAppService(service, ctx)) continue;
    if (!/^redis:7/.test(service.image ?? '')) continue;
    const command = Array.isArray(service.command) ? service.command : (service.command ?? '').split(/\s+/);
    const aof = command.indexOf('--appendonly');
    if (aof === -1 || command[aof + 1] !== 'yes') problems.push(`docker-compose.yml service ${name}: Redis runs without --appendonly yes`);
    const dataVolume = (service.volumes ?? []).some((v) => {
      const [source = '', target = ''] = typeof v === 'string' ? v.split(':') : [v.source ?? '', v.target ?? ''];
      return target === '/data' && declaredVolumes.includes(source);
    });
    if (!dataVolume) problems.push(`docker-compose.yml service ${name}: /data is not a named volume`);
    const test = service.healthcheck?.test;
    const testText = Array.isArray(test) ? test.join(' ') : (test ?? '');
    if (!/redis-cli.*\bping\b/.test(testText)) problems.push(`docker-compose.yml service ${name}: no redis-cli ping healthcheck`);
  }
  for (const [name, service] of appServices(bundle, ctx)) {
    const label = `docker-compose.yml service ${name}`;
    const env = composeEnv(service.environment);
    const entry = entryPoint(composeArgv(service, bundle), ctx, dockerfileWorkdir(bundle.dockerfile));

    const dependsOn = service.depends_on;
    if (!isObject(dependsOn)) {
      problems.push(`${label}: depends_on must use condition: service_healthy`);
    } else {
      for (const [dependency, spec] of Object.entries(dependsOn)) {
        if (spec.condition !== 'service_healthy') problems.push(`${label}: depends_on ${dependency} is not condition: service_healthy`);
        const target = services[dependency];
        if (!target) problems.push(`${label}: depends_on ${dependency} is not a service`);
        else if (!target.healthcheck?.test || target.healthcheck.disable)
          problems.push(`${label}: ${dependency} has no healthcheck to wait for`);
      }
    }
    try {
      const host = new URL(settingValue(ctx, env, 'REDIS_URL') ?? '').hostname;
      if (!services[host]) problems.push(`${label}: REDIS_URL host ${host} is not a compose service`);
      else if (!isObject(dependsOn) || !(host in dependsOn)) problems.push(`${label}: does not depend on ${host}`);
    } catch {
      // reported by checkConfigValues
    }
    if (entry.portSetting) {
      const listening = numberSetting(ctx, env, entry.portSetting);
      const published = (service.ports ?? []).map((p) => {
        if (typeof p === 'object') return { target: Number(p.target), host: p.published !== undefined };
        const parts = String(p).split('/')[0]?.split(':') ?? [];
        return { target: Number(parts[parts.length - 1]), host: parts.length > 1 };
      });
      for (const p of published) {
        if (p.target !== listening) problems.push(`${label}: port ${p.target} is not ${entry.portSetting}=${listening}`);
      }
      if (entry.role === 'ingest' && !published.some((p) => p.target === listening)) {
        problems.push(`${label}: does not publish ${entry.portSetting}=${listening}`);
      }
      if (entry.role === 'worker' && published.some((p) => p.host)) {
        problems.push(`${label}: a fixed host port keeps \`--scale ${name}=3\` from starting more than one`);
      }
    }
    if (entry.role === 'worker' && service.container_name !== undefined) {
      problems.push(`${label}: container_name keeps \`--scale ${name}=3\` from working`);
    }
    if (service.healthcheck?.disable) problems.push(`${label}: the image healthcheck is disabled`);
  }
  return problems;
};

/** Node release lines in long-term support that the image may use (Node 20 reached end of life on 2026-04-30). */
export const NODE_LTS_IMAGE = /^node:(22|24)([.-]|$)/;

/** Image: multi-stage, production-only deps, non-root, a Node LTS, a healthcheck on a real endpoint. */
export const checkDockerfile: Check = (bundle, ctx) => {
  const problems: string[] = [];
  const { dockerfile } = bundle;
  if (dockerfile.stages.length < 2) problems.push('Dockerfile: not multi-stage (build with dev dependencies, run with production ones)');
  dockerfile.stages.forEach((stage, i) => {
    const fromEarlierStage = dockerfile.stages.slice(0, i).some((s) => s.name === stage.from);
    if (!NODE_LTS_IMAGE.test(stage.from) && !fromEarlierStage) {
      problems.push(`Dockerfile: stage ${stage.name ?? i} is based on ${stage.from}, not a current Node LTS (node:22 or node:24)`);
    }
    const runs = stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    const npmCi = stage.instructions.findIndex((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
    if (npmCi !== -1) {
      const before = stage.instructions.slice(0, npmCi).filter((i) => i.keyword === 'COPY');
      if (!before.some((i) => /package-lock\.json|package\*\.json/.test(i.args))) {
        problems.push(`Dockerfile: stage ${stage.name ?? ''} runs npm ci before copying package-lock.json`);
      }
      if (before.some((i) => /^(--\S+\s+)*(\.|shared|ingest|worker)\/?\s/.test(i.args))) {
        problems.push(`Dockerfile: stage ${stage.name ?? ''} copies sources before npm ci (no dependency cache)`);
      }
    }
    if (stage === finalStage(dockerfile) && runs.some((r) => /\bnpm (ci|install)\b/.test(r) && !/--omit=dev|--production/.test(r))) {
      problems.push('Dockerfile: the final stage installs dev dependencies');
    }
  });
  if (!/npm ci[^\n]*--omit=dev/.test(dockerfile.text))
    problems.push('Dockerfile: production dependencies are not installed with npm ci --omit=dev');
  if (dockerfileEnv(dockerfile).NODE_ENV !== 'production') problems.push('Dockerfile: NODE_ENV is not production');
  const imageFiles = dockerfileImageFiles(dockerfile);
  for (const name of ['package.json', 'node_modules', 'dist']) {
    if (!imageFiles.includes(name)) problems.push(`Dockerfile: the final stage does not copy ${name}`);
  }
  const user = lastInstruction(dockerfile, 'USER')?.args.split(':')[0];
  if (user === undefined || user === 'root' || user === '0') problems.push('Dockerfile: the final stage runs as root');
  else if (!/^\d+$/.test(user)) problems.push(`Dockerfile: USER ${user} is not numeric, so Kubernetes cannot verify runAsNonRoot`);

  const healthcheck = dockerfileHealthcheck(dockerfile);
  if (!healthcheck?.command) {
    problems.push('Dockerfile: no exec-form HEALTHCHECK CMD');
  } else {
    const text = healthcheck.command.join(' ');
    const paths = [...text.matchAll(/['"`](\/[^'"`\s]*)['"`]/g)].map((m) => m[1] ?? '');
    if (paths.length === 0) problems.push('Dockerfile: HEALTHCHECK requests no path');
    for (const path of paths) {
      if (!ctx.healthPaths.includes(path))
        problems.push(`Dockerfile: HEALTHCHECK path ${path} is not served (health paths: ${ctx.healthPaths.join(', ')})`);
      if (path === '/readyz') problems.push('Dockerfile: HEALTHCHECK uses /readyz: a Redis outage would mark every container unhealthy');
    }
    const variables = [...text.matchAll(/process\.env\.([A-Za-z_][A-Za-z0-9_]*)(?:\s*\|\|\s*(\d+))?/g)];
    for (const [, name = '', fallback] of variables) {
      if (!(name in ctx.settings)) problems.push(`Dockerfile: HEALTHCHECK reads ${name}, which is not a setting`);
      else if (fallback !== undefined && fallback !== settingValue(ctx, {}, name)) {
        problems.push(`Dockerfile: HEALTHCHECK falls back to ${name}=${fallback}, the default is ${settingValue(ctx, {}, name) ?? ''}`);
      }
    }
    for (const { portSetting } of Object.values(ENTRY_POINTS)) {
      if (!variables.some((v) => v[1] === portSetting))
        problems.push(`Dockerfile: HEALTHCHECK does not probe ${portSetting}, so fails for that role`);
    }
  }
  return problems;
};

/** A .dockerignore pattern (no negation) as a test on a repository path and its parent folders. */
function ignoredBy(pattern: string, file: string): boolean {
  const source = pattern
    .replace(/^\/+|\/+$/g, '')
    .split('**')
    .map((part) =>
      part
        .split('*')
        .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^/]*'),
    )
    .join('.*');
  const regex = new RegExp(`^${source}$`);
  const parts = file.split('/');
  return parts.some((_, i) => regex.test(parts.slice(0, i + 1).join('/')));
}

export function isDockerIgnored(patterns: string[], file: string): boolean {
  let ignored = false;
  for (const pattern of patterns) {
    if (pattern.startsWith('!')) {
      if (ignoredBy(pattern.slice(1), file)) ignored = false;
    } else if (ignoredBy(pattern, file)) {
      ignored = true;
    }
  }
  return ignored;
}

/** The build context has what npm ci and the build need, and not local node_modules or dist. */
export const checkDockerignore: Check = (bundle) => {
  const problems: string[] = [];
  const needed = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', ...bundle.buildInputs];
  for (const file of needed) {
    if (isDockerIgnored(bundle.dockerignore, file)) problems.push(`.dockerignore excludes ${file}, which the image build needs`);
  }
  for (const file of ['node_modules', 'dist', '.git']) {
    if (!isDockerIgnored(bundle.dockerignore, file)) problems.push(`.dockerignore does not exclude ${file}`);
  }
  return problems;
};

export const ALL_CHECKS: Readonly<Record<string, Check>> = {
  checkEnvNames,
  checkConfigValues,
  checkConsumerNameUnset,
  checkReferences,
  checkProbes,
  checkMetricsAnnotations,
  checkEntrypoints,
  checkLabelsAndSelectors,
  checkServicePorts,
  checkGracePeriods,
  checkSecurity,
  checkRedisConnection,
  checkKeda,
  checkCompose,
  checkDockerfile,
  checkDockerignore,
};
