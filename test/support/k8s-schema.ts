/** Offline validation of manifests against the Kubernetes API schemas (kubernetes-models) and of the kustomizations. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { PriorityClass } from 'kubernetes-models/scheduling.k8s.io/v1/PriorityClass';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ROOT, isObject, yamlFilesIn, type K8sObject, type Kustomization, type Manifest } from './deploy-files';

interface Validatable {
  validate(): void;
}

/** The kinds these manifests may use, by "apiVersion kind". */
const MODELS: Readonly<Record<string, (doc: K8sObject) => Validatable>> = {
  'v1 Namespace': (doc) => new Namespace(doc as never),
  'v1 ConfigMap': (doc) => new ConfigMap(doc as never),
  'v1 Secret': (doc) => new Secret(doc as never),
  'v1 Service': (doc) => new Service(doc as never),
  'apps/v1 Deployment': (doc) => new Deployment(doc as never),
  'apps/v1 StatefulSet': (doc) => new StatefulSet(doc as never),
  'autoscaling/v2 HorizontalPodAutoscaler': (doc) => new HorizontalPodAutoscaler(doc as never),
  'batch/v1 Job': (doc) => new Job(doc as never),
  'policy/v1 PodDisruptionBudget': (doc) => new PodDisruptionBudget(doc as never),
  'networking.k8s.io/v1 NetworkPolicy': (doc) => new NetworkPolicy(doc as never),
  'scheduling.k8s.io/v1 PriorityClass': (doc) => new PriorityClass(doc as never),
};

/** Kinds without a namespace: kustomize leaves them alone and so does the namespace check. */
export const CLUSTER_SCOPED: readonly string[] = ['Namespace', 'PriorityClass'];

/** Custom resources that kubernetes-models has no model for: checked by hand. */
const CUSTOM: Readonly<Record<string, (doc: K8sObject) => string[]>> = {
  'keda.sh/v1alpha1 ScaledObject': validateScaledObject,
  'keda.sh/v1alpha1 TriggerAuthentication': validateTriggerAuthentication,
  'monitoring.coreos.com/v1 PodMonitor': validatePodMonitor,
  'monitoring.coreos.com/v1 PrometheusRule': validatePrometheusRule,
};

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function validateMetadata(doc: K8sObject): string[] {
  const name = doc.metadata?.name;
  if (typeof name !== 'string' || name.length > 63 || !DNS_LABEL.test(name)) return [`metadata.name ${String(name)} is not a DNS label`];
  return [];
}

export function validateScaledObject(doc: K8sObject): string[] {
  const problems = validateMetadata(doc);
  const spec = doc.spec;
  if (!isObject(spec)) return [...problems, 'spec is required'];
  const target = spec.scaleTargetRef;
  if (!isObject(target) || typeof target.name !== 'string' || target.name === '') problems.push('spec.scaleTargetRef.name is required');
  for (const field of ['minReplicaCount', 'maxReplicaCount', 'pollingInterval', 'cooldownPeriod']) {
    if (spec[field] !== undefined && !(Number.isInteger(spec[field]) && (spec[field] as number) >= 0)) {
      problems.push(`spec.${field} must be a non-negative integer`);
    }
  }
  if (typeof spec.minReplicaCount === 'number' && typeof spec.maxReplicaCount === 'number' && spec.minReplicaCount > spec.maxReplicaCount) {
    problems.push('spec.minReplicaCount is above spec.maxReplicaCount');
  }
  const triggers = spec.triggers;
  if (!Array.isArray(triggers) || triggers.length === 0) return [...problems, 'spec.triggers needs at least one trigger'];
  triggers.forEach((trigger: unknown, i) => {
    if (!isObject(trigger) || typeof trigger.type !== 'string') {
      problems.push(`spec.triggers[${i}].type is required`);
      return;
    }
    if (!isObject(trigger.metadata)) {
      problems.push(`spec.triggers[${i}].metadata is required`);
      return;
    }
    for (const [key, value] of Object.entries(trigger.metadata)) {
      if (typeof value !== 'string') problems.push(`spec.triggers[${i}].metadata.${key} must be a string`);
    }
    if (trigger.type === 'redis-streams' || trigger.type === 'redis-cluster-streams') {
      const meta = trigger.metadata;
      const addressFields =
        trigger.type === 'redis-streams'
          ? ['address', 'host', 'addressFromEnv', 'hostFromEnv']
          : ['addresses', 'hosts', 'addressesFromEnv', 'hostsFromEnv'];
      if (addressFields.every((field) => meta[field] === undefined)) {
        problems.push(`spec.triggers[${i}] (${trigger.type}) needs ${addressFields[0] ?? ''} or ${addressFields[1] ?? ''}`);
      }
      if (typeof meta.stream !== 'string' || meta.stream === '') problems.push(`spec.triggers[${i}].metadata.stream is required`);
      if (meta.lagCount !== undefined && meta.consumerGroup === undefined) {
        problems.push(`spec.triggers[${i}].metadata.lagCount needs consumerGroup`);
      }
    }
    if (
      trigger.authenticationRef !== undefined &&
      !(isObject(trigger.authenticationRef) && typeof trigger.authenticationRef.name === 'string')
    ) {
      problems.push(`spec.triggers[${i}].authenticationRef.name is required`);
    }
  });
  return problems;
}

export function validateTriggerAuthentication(doc: K8sObject): string[] {
  const problems = validateMetadata(doc);
  const spec = doc.spec;
  if (!isObject(spec)) return [...problems, 'spec is required'];
  const refs = spec.secretTargetRef;
  if (refs === undefined && spec.env === undefined && spec.podIdentity === undefined && spec.hashiCorpVault === undefined) {
    problems.push('spec has no source of credentials');
  }
  if (refs !== undefined) {
    if (!Array.isArray(refs)) return [...problems, 'spec.secretTargetRef must be a list'];
    refs.forEach((ref: unknown, i) => {
      for (const field of ['parameter', 'name', 'key']) {
        if (!isObject(ref) || typeof ref[field] !== 'string' || ref[field] === '')
          problems.push(`spec.secretTargetRef[${i}].${field} is required`);
      }
    });
  }
  return problems;
}

const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;

/** The Prometheus Operator's PodMonitor (monitoring.coreos.com/v1), the fields used here. */
export function validatePodMonitor(doc: K8sObject): string[] {
  const problems = validateMetadata(doc);
  const spec = doc.spec;
  if (!isObject(spec)) return [...problems, 'spec is required'];
  if (!isObject(spec.selector)) problems.push('spec.selector is required');
  const endpoints = spec.podMetricsEndpoints;
  if (!Array.isArray(endpoints) || endpoints.length === 0) return [...problems, 'spec.podMetricsEndpoints needs at least one endpoint'];
  endpoints.forEach((endpoint: unknown, i) => {
    if (!isObject(endpoint)) return problems.push(`spec.podMetricsEndpoints[${i}] must be an object`);
    if (typeof endpoint.port !== 'string' || endpoint.port === '') problems.push(`spec.podMetricsEndpoints[${i}].port must be a port name`);
    if (endpoint.path !== undefined && (typeof endpoint.path !== 'string' || !endpoint.path.startsWith('/')))
      problems.push(`spec.podMetricsEndpoints[${i}].path must start with /`);
    const auth = endpoint.authorization;
    if (
      auth !== undefined &&
      !(
        isObject(auth) &&
        isObject(auth.credentials) &&
        typeof auth.credentials.name === 'string' &&
        typeof auth.credentials.key === 'string'
      )
    )
      problems.push(`spec.podMetricsEndpoints[${i}].authorization.credentials needs name and key`);
    if (endpoint.interval !== undefined && !DURATION.test(String(endpoint.interval)))
      problems.push(`spec.podMetricsEndpoints[${i}].interval ${String(endpoint.interval)} is not a duration`);
    return undefined;
  });
  return problems;
}

/** The Prometheus Operator's PrometheusRule: groups of rules, each an alert or a record with an expr. */
export function validatePrometheusRule(doc: K8sObject): string[] {
  const problems = validateMetadata(doc);
  const spec = doc.spec;
  if (!isObject(spec) || !Array.isArray(spec.groups) || spec.groups.length === 0)
    return [...problems, 'spec.groups needs at least one group'];
  spec.groups.forEach((group: unknown, g) => {
    if (!isObject(group) || typeof group.name !== 'string' || group.name === '') return problems.push(`spec.groups[${g}].name is required`);
    if (!Array.isArray(group.rules) || group.rules.length === 0) return problems.push(`spec.groups[${g}].rules needs at least one rule`);
    group.rules.forEach((rule: unknown, r) => {
      const at = `spec.groups[${g}].rules[${r}]`;
      if (!isObject(rule)) return problems.push(`${at} must be an object`);
      if ((typeof rule.alert === 'string') === (typeof rule.record === 'string'))
        problems.push(`${at} needs exactly one of alert and record`);
      if (typeof rule.expr !== 'string' || rule.expr.trim() === '') problems.push(`${at}.expr is required`);
      if (rule.for !== undefined && !DURATION.test(String(rule.for))) problems.push(`${at}.for ${String(rule.for)} is not a duration`);
      for (const field of ['labels', 'annotations']) {
        if (rule[field] === undefined) continue;
        if (!isObject(rule[field]) || Object.values(rule[field]).some((v) => typeof v !== 'string'))
          problems.push(`${at}.${field} must map to strings`);
      }
      return undefined;
    });
    return undefined;
  });
  return problems;
}

/** Schema problems of one manifest; an unknown kind is a problem too. */
export function validateManifest(doc: K8sObject): string[] {
  const key = `${doc.apiVersion ?? '?'} ${doc.kind ?? '?'}`;
  const custom = CUSTOM[key];
  if (custom) return custom(doc);
  const model = MODELS[key];
  if (!model) return [`${key} is not a kind these tests know how to validate`];
  try {
    model(doc).validate();
    return validateMetadata(doc);
  } catch (error) {
    return [(error as Error).message];
  }
}

/**
 * The kustomization lists exactly the manifest files beside it, each exists, and it sets the
 * namespace every object is in.
 */
export function checkKustomization(kustomization: Kustomization, manifests: Manifest[]): string[] {
  const problems: string[] = [];
  const dir = path.join(ROOT, kustomization.dir);
  const isBase = (resource: string) => existsSync(path.join(dir, resource, 'kustomization.yaml'));
  for (const resource of kustomization.resources) {
    if (!existsSync(path.join(dir, resource))) problems.push(`${kustomization.file}: resource ${resource} does not exist`);
    // Another kustomization (a base this one builds on) may live elsewhere; files must be beside it.
    else if ((resource.includes('/') || resource.startsWith('..')) && !isBase(resource))
      problems.push(`${kustomization.file}: resource ${resource} is outside its folder`);
  }
  for (const patch of kustomization.patches) {
    if (!existsSync(path.join(dir, patch))) problems.push(`${kustomization.file}: patch ${patch} does not exist`);
  }
  for (const file of yamlFilesIn(dir)) {
    const name = path.basename(file);
    if (/^kustomization\.ya?ml$/.test(name)) continue;
    if (!kustomization.resources.includes(name) && !kustomization.patches.includes(name))
      problems.push(`${kustomization.file}: ${name} is not listed in resources or patches`);
  }
  if (!kustomization.namespace) problems.push(`${kustomization.file}: namespace is not set`);
  for (const m of manifests) {
    const namespace = m.doc.metadata?.namespace;
    if (m.doc.kind === 'Namespace') {
      if (m.doc.metadata?.name !== kustomization.namespace) problems.push(`${m.file}: Namespace is not ${kustomization.namespace ?? ''}`);
    } else if (CLUSTER_SCOPED.includes(m.doc.kind ?? '')) {
      if (namespace !== undefined)
        problems.push(`${m.file} ${m.doc.kind ?? ''}/${m.doc.metadata?.name ?? ''}: cluster-scoped, but has namespace ${namespace}`);
    } else if (namespace !== kustomization.namespace) {
      problems.push(
        `${m.file} ${m.doc.kind ?? ''}/${m.doc.metadata?.name ?? ''}: namespace ${namespace ?? '(unset)'} is not ${kustomization.namespace ?? ''}`,
      );
    }
  }
  return problems;
}
