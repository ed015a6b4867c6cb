/** Typed access to the parsed manifests: workloads, containers, the environment a container gets. */
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IService } from 'kubernetes-models/v1/Service';
import type { K8sObject, Manifest } from './deploy-files';

export type { IContainer, IPodTemplateSpec, IService };

export function where(manifest: Manifest): string {
  const { doc } = manifest;
  return `${manifest.file} ${doc.kind ?? '?'}/${doc.metadata?.name ?? '?'}`;
}

export function ofKind<T>(manifests: Manifest[], kind: string): { manifest: Manifest; obj: T }[] {
  return manifests.filter((m) => m.doc.kind === kind).map((manifest) => ({ manifest, obj: manifest.doc as unknown as T }));
}

export function findObject<T>(manifests: Manifest[], kind: string, name: string | undefined): T | undefined {
  return ofKind<T>(manifests, kind).find((o) => o.manifest.doc.metadata?.name === name)?.obj;
}

export interface Workload {
  manifest: Manifest;
  kind: 'Deployment' | 'StatefulSet';
  name: string;
  matchLabels: Record<string, string>;
  hasMatchExpressions: boolean;
  template: IPodTemplateSpec;
}

export function workloads(manifests: Manifest[]): Workload[] {
  const result: Workload[] = [];
  for (const manifest of manifests) {
    const { kind } = manifest.doc;
    if (kind !== 'Deployment' && kind !== 'StatefulSet') continue;
    const obj = manifest.doc as unknown as IDeployment | IStatefulSet;
    const spec = obj.spec;
    if (!spec) continue;
    result.push({
      manifest,
      kind,
      name: obj.metadata?.name ?? '',
      matchLabels: spec.selector.matchLabels ?? {},
      hasMatchExpressions: (spec.selector.matchExpressions ?? []).length > 0,
      template: spec.template,
    });
  }
  return result;
}

/** Every pod template: of the workloads, and of Jobs (which run once and have no selector to check). */
export function podTemplates(manifests: Manifest[]): { manifest: Manifest; template: IPodTemplateSpec }[] {
  const jobs = manifests
    .filter((m) => m.doc.kind === 'Job')
    .flatMap((manifest) => {
      const template = (manifest.doc as { spec?: { template?: IPodTemplateSpec } }).spec?.template;
      return template ? [{ manifest, template }] : [];
    });
  return [...workloads(manifests).map((w) => ({ manifest: w.manifest, template: w.template })), ...jobs];
}

export interface PodContainer {
  workload: Workload;
  container: IContainer;
}

export function containersOf(workload: Workload): PodContainer[] {
  return (workload.template.spec?.containers ?? []).map((container) => ({ workload, container }));
}

/** Image reference without tag or digest: registry.example.com/app:1.2 -> registry.example.com/app. */
export function imageRepository(image: string | undefined): string {
  if (!image) return '';
  const withoutDigest = image.split('@')[0] ?? '';
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', lastSlash + 1);
  return colon === -1 ? withoutDigest : withoutDigest.slice(0, colon);
}

/** Containers that run this project's image (as named in the kustomization's images:). */
export function appContainers(manifests: Manifest[], appImage: string): PodContainer[] {
  return workloads(manifests)
    .flatMap(containersOf)
    .filter(({ container }) => imageRepository(container.image) === appImage);
}

/** true when every label of `selector` is on `labels`. An empty selector selects nothing here. */
export function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  const entries = Object.entries(selector ?? {});
  return entries.length > 0 && entries.every(([key, value]) => labels?.[key] === value);
}

function secretValues(secret: ISecret): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(secret.data ?? {})) values[key] = Buffer.from(value, 'base64').toString('utf8');
  for (const [key, value] of Object.entries(secret.stringData ?? {})) values[key] = value;
  return values;
}

export function configMapData(manifests: Manifest[], name: string | undefined): Record<string, string> | undefined {
  const cm = findObject<IConfigMap>(manifests, 'ConfigMap', name);
  return cm ? { ...(cm.data ?? {}) } : undefined;
}

export function secretData(manifests: Manifest[], name: string | undefined): Record<string, string> | undefined {
  const secret = findObject<ISecret>(manifests, 'Secret', name);
  return secret ? secretValues(secret) : undefined;
}

export interface ResolvedEnv {
  /** Final environment of the container, as Kubernetes would build it. */
  env: Record<string, string>;
  /** Every variable name the manifest sets, with where it comes from. */
  names: { name: string; source: string }[];
  /** References to missing ConfigMaps, Secrets or keys. */
  problems: string[];
}

/** The environment Kubernetes gives a container: envFrom first, then env (with $(VAR) expansion). */
export function resolveEnv(manifests: Manifest[], container: IContainer): ResolvedEnv {
  const env: Record<string, string> = {};
  const names: ResolvedEnv['names'] = [];
  const problems: string[] = [];

  for (const source of container.envFrom ?? []) {
    const prefix = source.prefix ?? '';
    const ref = source.configMapRef ?? source.secretRef;
    const kind = source.configMapRef ? 'ConfigMap' : 'Secret';
    const data = source.configMapRef ? configMapData(manifests, ref?.name) : secretData(manifests, ref?.name);
    if (!data) {
      if (!ref?.optional) problems.push(`envFrom refers to missing ${kind} "${ref?.name ?? ''}"`);
      continue;
    }
    for (const [key, value] of Object.entries(data)) {
      env[prefix + key] = value;
      names.push({ name: prefix + key, source: `${kind} ${ref?.name ?? ''}` });
    }
  }

  for (const variable of container.env ?? []) {
    names.push({ name: variable.name, source: 'env' });
    if (variable.value !== undefined) {
      // Kubernetes expands $(NAME) from variables defined earlier; $$ escapes.
      env[variable.name] = variable.value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, ref?: string) =>
        whole === '$$' ? '$' : ref !== undefined && env[ref] !== undefined ? (env[ref] ?? '') : whole,
      );
      continue;
    }
    const secretRef = variable.valueFrom?.secretKeyRef;
    const configRef = variable.valueFrom?.configMapKeyRef;
    const ref = secretRef ?? configRef;
    if (!ref) continue; // fieldRef / resourceFieldRef: known only at run time
    const kind = secretRef ? 'Secret' : 'ConfigMap';
    const data = secretRef ? secretData(manifests, ref.name) : configMapData(manifests, ref.name);
    const value = data?.[ref.key];
    if (value === undefined) {
      if (!ref.optional) problems.push(`env ${variable.name} refers to missing ${kind} key ${ref.name ?? ''}/${ref.key}`);
      continue;
    }
    env[variable.name] = value;
  }
  return { env, names, problems };
}

/** The port number a probe or Service targets: a number, or the name of one of the container's ports. */
export function resolveContainerPort(container: IContainer, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  if (port === undefined) return undefined;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/** Seconds a preStop hook sleeps (exec sleep N, sh -c "sleep N", or the sleep action); 0 without one. */
export function preStopSleepSeconds(container: IContainer): number {
  const preStop = container.lifecycle?.preStop as { exec?: { command?: string[] }; sleep?: { seconds?: number } } | undefined;
  if (!preStop) return 0;
  if (preStop.sleep?.seconds !== undefined) return preStop.sleep.seconds;
  const command = (preStop.exec?.command ?? []).join(' ');
  const match = /(?:^|[\s/;&])sleep\s+(\d+(?:\.\d+)?)/.exec(command);
  return match ? Number(match[1]) : 0;
}

export type { K8sObject };
