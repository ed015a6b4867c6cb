/**
 * Agreement checks for a Redis Cluster deployment (the k8s/cluster component): the apps' seed nodes
 * are pods of the cluster's StatefulSet, the StatefulSet keeps its identity and data, peers reach
 * each other, a Job creates the cluster in the shape the StatefulSet has, partitions spread evenly
 * over the masters, and no single Redis is left. Same contract as deploy-checks.ts; they find
 * nothing to say about a deployment with a single Redis.
 */
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { apps, clusterSeeds, namespaceOf, numberSetting, qualifiedHost, requiredPassword, type Check } from './deploy-checks';
import { findObject, ofKind, podTemplates, resolveContainerPort, resolveEnv, selects, where, type IContainer, type IService } from './k8s';
import { admits, clusterEnabled, redisContainers } from './ops-checks';
import type { Bundle } from './deploy-files';

interface ClusterNode {
  label: string;
  statefulSet: IStatefulSet;
  container: IContainer;
  namespace: string;
  port: number;
  workload: ReturnType<typeof redisContainers>[number]['workload'];
}

function clusterNodes(bundle: Bundle): ClusterNode[] {
  return redisContainers(bundle)
    .filter(({ workload, container }) => workload.kind === 'StatefulSet' && clusterEnabled(container))
    .map(({ workload, container }) => ({
      label: where(workload.manifest),
      statefulSet: workload.manifest.doc as unknown as IStatefulSet,
      container,
      namespace: namespaceOf(workload.manifest, bundle),
      port: resolveContainerPort(container, 'redis') ?? 6379,
      workload,
    }));
}

/** Fully qualified names of a StatefulSet's pods: <name>-<i>.<service>.<namespace>.svc.cluster.local. */
function podHosts(node: ClusterNode): string[] {
  const name = node.statefulSet.metadata?.name ?? '';
  const service = node.statefulSet.spec?.serviceName ?? '';
  return Array.from(
    { length: node.statefulSet.spec?.replicas ?? 1 },
    (_, i) => `${name}-${i}.${service}.${node.namespace}.svc.cluster.local`,
  );
}

function env(container: IContainer, bundle: Bundle): Record<string, string> {
  return resolveEnv(bundle.manifests, container).env;
}

/** Each node keeps its data and cluster identity, restarts into a working cluster, and fails alone. */
function checkNode(bundle: Bundle, node: ClusterNode): string[] {
  const problems: string[] = [];
  const { label, statefulSet, container } = node;
  const args = [...(container.command ?? []), ...(container.args ?? [])];
  const value = (flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
  if (value('--appendonly') !== 'yes') problems.push(`${label}: runs without --appendonly yes`);
  const claims = (statefulSet.spec?.volumeClaimTemplates ?? []).map((claim) => claim.metadata?.name);
  const persisted = (container.volumeMounts ?? []).filter((mount) => claims.includes(mount.name)).map((mount) => mount.mountPath);
  const configFile = value('--cluster-config-file') ?? 'nodes.conf';
  const dir = value('--dir') ?? '/data';
  const configPath = configFile.startsWith('/') ? configFile : `${dir}/${configFile}`;
  if (!persisted.some((mount) => configPath.startsWith(`${mount}/`))) {
    problems.push(
      `${label}: --cluster-config-file ${configPath} is not on a volume of its volumeClaimTemplates; a restarted pod would forget its cluster`,
    );
  }
  const service = findObject<IService>(bundle.manifests, 'Service', statefulSet.spec?.serviceName);
  if (service && service.spec?.publishNotReadyAddresses !== true) {
    problems.push(
      `${label}: Service ${statefulSet.spec?.serviceName ?? ''} does not publish not-ready pods; nodes could not find each other while the cluster forms`,
    );
  }
  if (statefulSet.spec?.podManagementPolicy !== 'Parallel') {
    problems.push(
      `${label}: podManagementPolicy is not Parallel; pods ready only inside a working cluster would wait for each other forever`,
    );
  }
  const labels = node.workload.template.metadata?.labels ?? {};
  const budgets = ofKind<IPodDisruptionBudget>(bundle.manifests, 'PodDisruptionBudget').filter(({ obj }) =>
    selects(obj.spec?.selector?.matchLabels, labels),
  );
  if (!budgets.some(({ obj }) => obj.spec?.maxUnavailable === 1)) {
    problems.push(`${label}: no PodDisruptionBudget with maxUnavailable 1; a drain could take a master and its replica together`);
  }
  const antiAffinity = node.workload.template.spec?.affinity?.podAntiAffinity;
  const terms = [
    ...(antiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
    ...(antiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((term) => term.podAffinityTerm),
  ];
  if (!terms.some((term) => term.topologyKey === 'kubernetes.io/hostname' && selects(term.labelSelector?.matchLabels, labels))) {
    problems.push(`${label}: no pod anti-affinity on kubernetes.io/hostname among its own pods`);
  }
  const bus = node.port + 10000;
  if (!(container.ports ?? []).some((port) => port.containerPort === bus)) {
    problems.push(`${label}: no containerPort ${bus}, the cluster bus of port ${node.port}`);
  }
  for (const port of [node.port, bus]) {
    if (!admits(bundle, node.workload, port, labels))
      problems.push(`${label}: NetworkPolicy keeps its pods from each other on port ${port}`);
  }
  return problems;
}

/** A Job joins the pods into the cluster, in the shape the StatefulSet has, with the server's password. */
function checkCreateJob(bundle: Bundle, node: ClusterNode): string[] {
  const jobs = podTemplates(bundle.manifests)
    .filter(({ manifest }) => manifest.doc.kind === 'Job')
    .flatMap(({ manifest, template }) =>
      (template.spec?.containers ?? [])
        .filter((c) => env(c, bundle).REDIS_STATEFULSET === node.statefulSet.metadata?.name)
        .map((container) => ({ label: `${where(manifest)} container ${container.name}`, container, template })),
    );
  if (jobs.length === 0)
    return [`${node.label}: no Job creates the cluster (a container with REDIS_STATEFULSET=${node.statefulSet.metadata?.name ?? ''})`];
  const problems: string[] = [];
  const password = requiredPassword(bundle, node.container);
  for (const { label, container, template } of jobs) {
    const jobEnv = env(container, bundle);
    const masters = Number(jobEnv.REDIS_CLUSTER_MASTERS);
    const replicas = Number(jobEnv.REDIS_CLUSTER_REPLICAS);
    const pods = node.statefulSet.spec?.replicas ?? 1;
    if (!(masters >= 3) || !(replicas >= 0) || masters * (1 + replicas) !== pods) {
      problems.push(
        `${label}: ${jobEnv.REDIS_CLUSTER_MASTERS ?? '?'} masters with ${jobEnv.REDIS_CLUSTER_REPLICAS ?? '?'} replicas each is not the ${pods} pods of ${node.label} (a cluster needs at least 3 masters)`,
      );
    }
    if (jobEnv.REDIS_SERVICE !== node.statefulSet.spec?.serviceName) {
      problems.push(
        `${label}: REDIS_SERVICE ${jobEnv.REDIS_SERVICE ?? '(unset)'} is not the Service ${node.statefulSet.spec?.serviceName ?? ''} naming the pods`,
      );
    }
    if (password !== undefined && jobEnv.REDISCLI_AUTH !== password) {
      problems.push(`${label}: REDISCLI_AUTH is not the password ${node.label} requires`);
    }
    if (!admits(bundle, node.workload, node.port, template.metadata?.labels ?? {})) {
      problems.push(`${label}: NetworkPolicy keeps it from the Redis pods on port ${node.port}`);
    }
  }
  return problems;
}

export const checkRedisCluster: Check = (bundle, ctx) => {
  const problems: string[] = [];
  const nodes = clusterNodes(bundle);
  const all = apps(bundle, ctx);
  const clusterApps = all.filter((app) => clusterSeeds(ctx, app.env).length > 0);
  if (nodes.length === 0 && clusterApps.length === 0) return [];
  for (const app of all.filter((a) => !clusterApps.includes(a))) {
    problems.push(`${app.label}: no REDIS_CLUSTER_NODES, so it uses a single Redis while the others use the cluster`);
  }
  for (const { workload, container } of redisContainers(bundle).filter(({ container }) => !clusterEnabled(container))) {
    problems.push(`${where(workload.manifest)} container ${container.name}: a single Redis left beside the cluster`);
  }
  for (const node of nodes) problems.push(...checkNode(bundle, node), ...checkCreateJob(bundle, node));
  const pods = nodes.flatMap((node) => podHosts(node).map((host) => `${host}:${node.port}`));
  for (const app of clusterApps) {
    const namespace = namespaceOf(app.workload.manifest, bundle);
    for (const seed of clusterSeeds(ctx, app.env)) {
      const host = qualifiedHost(seed.host, namespace);
      if (host.endsWith('.svc.cluster.local') && !pods.includes(`${host}:${seed.port}`)) {
        problems.push(
          `${app.label}: REDIS_CLUSTER_NODES names ${seed.host}:${seed.port}, which is not a pod of the cluster (${pods.join(', ')})`,
        );
      }
    }
    // Partitions per master: an even spread needs a multiple of the masters.
    const partitions = numberSetting(ctx, app.env, 'STREAM_PARTITIONS');
    for (const node of nodes) {
      const masters = Number(
        podTemplates(bundle.manifests)
          .flatMap(({ template }) => template.spec?.containers ?? [])
          .map((c) => env(c, bundle))
          .find((e) => e.REDIS_STATEFULSET === node.statefulSet.metadata?.name)?.REDIS_CLUSTER_MASTERS,
      );
      if (masters > 0 && partitions % masters !== 0) {
        problems.push(
          `${app.label}: STREAM_PARTITIONS=${partitions} is not a multiple of the ${masters} masters; some would serve more partitions than others`,
        );
      }
    }
  }
  return problems;
};

export const CLUSTER_CHECKS: Readonly<Record<string, Check>> = { checkRedisCluster };
