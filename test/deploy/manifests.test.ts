/** Every manifest under k8s/ parses and is valid for the Kubernetes API (offline), and the kustomizations list them all. */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { imageRepository, workloads } from './helpers/k8s';
import { ROOT, loadKustomization, loadManifests, parseYamlFile, rel, type K8sObject } from './helpers/load';
import { checkKustomization, validateManifest } from './helpers/schema';

function yamlFilesUnder(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const file = path.join(dir, name);
      if (statSync(file).isDirectory()) return yamlFilesUnder(file);
      return /\.ya?ml$/.test(name) ? [file] : [];
    });
}

const K8S = path.join(ROOT, 'k8s');
const files = yamlFilesUnder(K8S);
const base = loadKustomization(K8S);
const keda = loadKustomization(path.join(K8S, 'keda'));

describe('k8s/ YAML', () => {
  test('has manifests', () => {
    expect(files.length).toBeGreaterThan(2);
  });

  test.each(files.map((f) => [rel(f)]))('%s parses and every document validates', (file) => {
    const docs = parseYamlFile(path.join(ROOT, file));
    expect(docs.length).toBeGreaterThan(0);
    const problems = docs.flatMap((doc, i) => {
      const obj = doc as K8sObject;
      if (obj.kind === 'Kustomization') return [];
      return validateManifest(obj).map((p) => `document ${i} (${obj.kind ?? '?'}/${obj.metadata?.name ?? '?'}): ${p}`);
    });
    expect(problems).toEqual([]);
  });
});

describe.each([
  ['k8s/kustomization.yaml', base],
  ['k8s/keda/kustomization.yaml', keda],
])('%s', (_file, kustomization) => {
  test('lists exactly the manifest files beside it, in its namespace', () => {
    expect(checkKustomization(kustomization, loadManifests(kustomization))).toEqual([]);
  });
});

describe('kustomizations', () => {
  test('the listing check reports an unlisted file and a missing one', () => {
    const manifests = loadManifests(base);
    const unlisted = { ...base, resources: base.resources.filter((r) => r !== 'worker.yaml') };
    expect(checkKustomization(unlisted, manifests)).toContain('k8s/kustomization.yaml: worker.yaml is not listed in resources');
    const missing = { ...base, resources: [...base.resources, 'nope.yaml'] };
    expect(checkKustomization(missing, manifests)).toContain('k8s/kustomization.yaml: resource nope.yaml does not exist');
  });

  test('the base does not pull in KEDA, so clusters without KEDA can apply it', () => {
    const kinds = loadManifests(base).map((m) => m.doc.apiVersion ?? '');
    expect(kinds.filter((v) => v.startsWith('keda.sh/'))).toEqual([]);
    expect(base.resources.filter((r) => r.includes('keda'))).toEqual([]);
  });

  test('KEDA objects live only in keda/', () => {
    const kinds = loadManifests(keda).map((m) => m.doc.apiVersion ?? '');
    expect(kinds.length).toBeGreaterThan(0);
    expect(kinds.every((v) => v.startsWith('keda.sh/'))).toBe(true);
  });

  test('the images: entry names the image the app containers use, so operators can override it', () => {
    const names = base.images.map((i) => i.name);
    expect(names.length).toBeGreaterThan(0);
    const used = new Set(
      workloads(loadManifests(base)).flatMap((w) => (w.template.spec?.containers ?? []).map((c) => imageRepository(c.image))),
    );
    for (const name of names) expect(used.has(name)).toBe(true);
  });

  test('has the objects a deployment needs, at their current API versions', () => {
    const kinds = new Set([...loadManifests(base), ...loadManifests(keda)].map((m) => `${m.doc.apiVersion ?? ''} ${m.doc.kind ?? ''}`));
    expect([...kinds]).toEqual(
      expect.arrayContaining([
        'apps/v1 Deployment',
        'apps/v1 StatefulSet',
        'autoscaling/v2 HorizontalPodAutoscaler',
        'keda.sh/v1alpha1 ScaledObject',
        'keda.sh/v1alpha1 TriggerAuthentication',
        'policy/v1 PodDisruptionBudget',
        'v1 ConfigMap',
        'v1 Namespace',
        'v1 Secret',
        'v1 Service',
      ]),
    );
  });
});

describe('the validation itself rejects broken manifests', () => {
  const deployment = (): K8sObject => structuredClone(loadManifests(base).find((m) => m.doc.kind === 'Deployment')?.doc ?? {});

  test('a string containerPort', () => {
    const doc = deployment() as { spec: { template: { spec: { containers: { ports: { containerPort: unknown }[] }[] } } } } & K8sObject;
    const port = doc.spec.template.spec.containers[0]?.ports[0];
    if (port) port.containerPort = 'http';
    expect(validateManifest(doc).join('\n')).toMatch(/containerPort must be integer/);
  });

  test('a Deployment without a selector', () => {
    const doc = deployment() as { spec: { selector?: unknown } } & K8sObject;
    delete doc.spec.selector;
    expect(validateManifest(doc).join('\n')).toMatch(/selector/);
  });

  test('a name that is not a DNS label', () => {
    const doc = deployment();
    if (doc.metadata) doc.metadata.name = 'Ingest_API';
    expect(validateManifest(doc).join('\n')).toMatch(/DNS label/);
  });

  test('an unknown kind', () => {
    expect(validateManifest({ apiVersion: 'v1', kind: 'Pod' })).toEqual(['v1 Pod is not a kind these tests know how to validate']);
  });

  test('a ScaledObject without triggers or target', () => {
    const doc: K8sObject = { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'worker' }, spec: { triggers: [] } };
    const problems = validateManifest(doc).join('\n');
    expect(problems).toMatch(/scaleTargetRef\.name is required/);
    expect(problems).toMatch(/at least one trigger/);
  });

  test('a redis-streams trigger without stream, a numeric metadata value', () => {
    const doc: K8sObject = {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata: { name: 'worker' },
      spec: {
        scaleTargetRef: { name: 'worker' },
        triggers: [{ type: 'redis-streams', metadata: { address: 'redis:6379', lagCount: 10 } }],
      },
    };
    const problems = validateManifest(doc).join('\n');
    expect(problems).toMatch(/stream is required/);
    expect(problems).toMatch(/lagCount must be a string/);
  });

  test('a TriggerAuthentication secretTargetRef without key', () => {
    const doc: K8sObject = {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'TriggerAuthentication',
      metadata: { name: 'redis-auth' },
      spec: { secretTargetRef: [{ parameter: 'password', name: 'redis-auth' }] },
    };
    expect(validateManifest(doc)).toEqual(['spec.secretTargetRef[0].key is required']);
  });
});
