/** Every manifest under k8s/ parses and is valid for the Kubernetes API (offline), and the kustomizations list them all. */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { imageRepository, workloads } from '../support/k8s';
import { ROOT, loadKustomization, loadManifests, parseYamlFile, rel, renderKustomization, type K8sObject } from '../support/deploy-files';
import { registryHost } from '../support/ops-checks';
import { checkKustomization, validateManifest } from '../support/k8s-schema';

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
const monitoring = loadKustomization(path.join(K8S, 'monitoring'));
const cluster = loadKustomization(path.join(K8S, 'cluster'));
const clusterKeda = loadKustomization(path.join(K8S, 'cluster', 'keda'));
// Patches hold parts of objects: they are validated in what they render to.
const patchFiles = [base, keda, monitoring, cluster, clusterKeda].flatMap((k) => k.patches.map((p) => path.join(ROOT, k.dir, p)));

describe('k8s/ YAML', () => {
  test('has manifests', () => {
    expect(files.length).toBeGreaterThan(2);
  });

  test.each(files.filter((f) => !patchFiles.includes(f)).map((f) => [rel(f)]))('%s parses and every document validates', (file) => {
    const docs = parseYamlFile(path.join(ROOT, file));
    expect(docs.length).toBeGreaterThan(0);
    const problems = docs.flatMap((doc, i) => {
      const obj = doc as K8sObject;
      if (obj.kind === 'Kustomization' || obj.kind === 'Component') return [];
      return validateManifest(obj).map((p) => `document ${i} (${obj.kind ?? '?'}/${obj.metadata?.name ?? '?'}): ${p}`);
    });
    expect(problems).toEqual([]);
  });
});

describe.each([
  ['k8s/kustomization.yaml', base],
  ['k8s/keda/kustomization.yaml', keda],
  ['k8s/monitoring/kustomization.yaml', monitoring],
  ['k8s/cluster/kustomization.yaml', cluster],
  ['k8s/cluster/keda/kustomization.yaml', clusterKeda],
])('%s', (_file, kustomization) => {
  test('lists exactly the manifest files beside it, in its namespace', () => {
    expect(checkKustomization(kustomization, loadManifests(kustomization))).toEqual([]);
  });
});

describe('kustomizations', () => {
  test('the listing check reports an unlisted file and a missing one', () => {
    const manifests = loadManifests(base);
    const unlisted = { ...base, resources: base.resources.filter((r) => r !== 'worker.yaml') };
    expect(checkKustomization(unlisted, manifests)).toContain('k8s/kustomization.yaml: worker.yaml is not listed in resources or patches');
    const missing = { ...base, resources: [...base.resources, 'nope.yaml'] };
    expect(checkKustomization(missing, manifests)).toContain('k8s/kustomization.yaml: resource nope.yaml does not exist');
  });

  test('the base does not pull in KEDA, so clusters without KEDA can apply it', () => {
    const kinds = loadManifests(base).map((m) => m.doc.apiVersion ?? '');
    expect(kinds.filter((v) => v.startsWith('keda.sh/'))).toEqual([]);
    expect(base.resources.filter((r) => r.includes('keda'))).toEqual([]);
  });

  test('keda/ holds the KEDA objects and the NetworkPolicy that lets KEDA reach Redis, nothing else', () => {
    const kinds = loadManifests(keda).map((m) => `${m.doc.apiVersion ?? ''} ${m.doc.kind ?? ''}`);
    expect(kinds.filter((k) => k.startsWith('keda.sh/')).length).toBeGreaterThan(0);
    expect(kinds.filter((k) => !k.startsWith('keda.sh/'))).toEqual(['networking.k8s.io/v1 NetworkPolicy']);
  });

  test('the images: entry names the image the app containers use, so operators can override it', () => {
    const names = base.images.map((i) => i.name);
    expect(names.length).toBeGreaterThan(0);
    const used = new Set(
      workloads(loadManifests(base)).flatMap((w) => (w.template.spec?.containers ?? []).map((c) => imageRepository(c.image))),
    );
    for (const name of names) expect(used.has(name)).toBe(true);
  });

  test('monitoring objects live only in monitoring/, so clusters without the Prometheus Operator can apply the base', () => {
    const operator = (k: typeof base) => loadManifests(k).filter((m) => (m.doc.apiVersion ?? '').startsWith('monitoring.coreos.com/'));
    expect(operator(base)).toEqual([]);
    expect(operator(keda)).toEqual([]);
    // monitoring/ holds the operator's objects and the Secret with Prometheus' bearer token.
    const others = loadManifests(monitoring).filter((m) => !(m.doc.apiVersion ?? '').startsWith('monitoring.coreos.com/'));
    expect(others.map((m) => `${m.doc.kind ?? ''}/${m.doc.metadata?.name ?? ''}`)).toEqual(['Secret/prometheus-metrics-token']);
  });

  test('has the objects a deployment needs, at their current API versions', () => {
    const kinds = new Set(
      [...loadManifests(base), ...loadManifests(keda), ...loadManifests(monitoring)].map(
        (m) => `${m.doc.apiVersion ?? ''} ${m.doc.kind ?? ''}`,
      ),
    );
    expect([...kinds]).toEqual(
      expect.arrayContaining([
        'apps/v1 Deployment',
        'apps/v1 StatefulSet',
        'autoscaling/v2 HorizontalPodAutoscaler',
        'keda.sh/v1alpha1 ScaledObject',
        'keda.sh/v1alpha1 TriggerAuthentication',
        'monitoring.coreos.com/v1 PodMonitor',
        'monitoring.coreos.com/v1 PrometheusRule',
        'networking.k8s.io/v1 NetworkPolicy',
        'scheduling.k8s.io/v1 PriorityClass',
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

function render(dir: string, components: string[] = []): K8sObject[] {
  return renderKustomization(
    path.join(K8S, dir),
    components.map((c) => path.join(K8S, c)),
  ).map((m) => m.doc);
}

describe.each([
  ['.', []],
  ['keda', []],
  ['monitoring', []],
  ['.', ['cluster']],
  ['cluster/keda', []],
])('kubectl kustomize k8s/%s with components %j', (dir, components) => {
  const rendered = render(dir, components);

  test('renders objects that all validate, each in the namespace unless cluster-scoped', () => {
    expect(rendered.length).toBeGreaterThan(0);
    const problems = rendered.flatMap((obj) => validateManifest(obj).map((p) => `${obj.kind ?? '?'}/${obj.metadata?.name ?? '?'}: ${p}`));
    expect(problems).toEqual([]);
    for (const obj of rendered) {
      const expected = ['Namespace', 'PriorityClass'].includes(obj.kind ?? '') ? undefined : 'node-aggregation';
      expect({ object: `${obj.kind ?? ''}/${obj.metadata?.name ?? ''}`, namespace: obj.metadata?.namespace }).toEqual({
        object: `${obj.kind ?? ''}/${obj.metadata?.name ?? ''}`,
        namespace: expected,
      });
      expect(obj.metadata?.labels?.['app.kubernetes.io/part-of']).toBe('node-aggregation');
    }
  });
});

describe('the Redis Cluster component', () => {
  const names = (objects: K8sObject[]) => objects.map((obj) => `${obj.kind ?? ''}/${obj.metadata?.name ?? ''}`);
  const rendered = render('.', ['cluster']);

  test('replaces the single Redis with the cluster, its Job and its policy, and changes nothing else', () => {
    const before = names(render('.'));
    const after = names(rendered);
    expect(before.filter((name) => !after.includes(name)).sort()).toEqual(['Service/redis', 'Service/redis-headless', 'StatefulSet/redis']);
    expect(after.filter((name) => !before.includes(name)).sort()).toEqual([
      'ConfigMap/redis-cluster-scripts',
      'Job/redis-cluster-create',
      'NetworkPolicy/redis-cluster',
      'PodDisruptionBudget/redis-cluster',
      'Service/redis-cluster',
      'StatefulSet/redis-cluster',
    ]);
  });

  test('carries the scripts of the Redis pods and the Job as they are in k8s/cluster/scripts/', () => {
    const scripts = rendered.find((obj) => obj.kind === 'ConfigMap' && obj.metadata?.name === 'redis-cluster-scripts') as
      { data: Record<string, string> } | undefined;
    for (const name of ['redis-cluster-node.sh', 'redis-cluster-create.sh']) {
      expect(scripts?.data[name]).toBe(readFileSync(path.join(K8S, 'cluster', 'scripts', name), 'utf8'));
    }
  });

  test('k8s/cluster/keda keeps the base KEDA objects and only swaps the triggers', () => {
    expect(names(render('cluster/keda'))).toEqual(names(render('keda')));
  });
});

describe('rendered details', () => {
  test('app containers pull from a registry host: the placeholder until an operator sets theirs', () => {
    const images = render('.')
      .filter((obj) => obj.kind === 'Deployment')
      .map(
        (obj) =>
          (obj as { spec: { template: { spec: { containers: { image: string }[] } } } }).spec.template.spec.containers[0]?.image ?? '',
      );
    expect(images.length).toBe(2);
    for (const image of images) {
      expect(registryHost(image)).toBeDefined();
      expect(image).toMatch(/^registry\.invalid\/replace-with-your-registry\/node-aggregation:\d+\.\d+\.\d+$/);
    }
  });

  test('the dashboard ConfigMap carries the Grafana sidecar label and the dashboard JSON', () => {
    const dashboards = render('monitoring').filter((obj) => obj.kind === 'ConfigMap');
    expect(dashboards.map((d) => d.metadata?.name)).toEqual(['node-aggregation-dashboard']);
    const [dashboard] = dashboards;
    expect(dashboard?.metadata?.labels?.grafana_dashboard).toBe('1');
    const json = JSON.parse((dashboard as { data: Record<string, string> }).data['node-aggregation.json'] ?? '') as {
      uid: string;
      panels: unknown[];
    };
    expect(json.uid).toBe('node-aggregation');
    expect(json.panels.length).toBeGreaterThan(5);
  });
});

describe('the validation of the new kinds rejects broken objects', () => {
  const monitoringObject = (kind: string): K8sObject =>
    structuredClone(loadManifests(monitoring).find((m) => m.doc.kind === kind)?.doc ?? {});

  test('a PodMonitor endpoint with a numeric port and a path without /', () => {
    const doc = monitoringObject('PodMonitor') as K8sObject & { spec: { podMetricsEndpoints: Record<string, unknown>[] } };
    doc.spec.podMetricsEndpoints[0] = { port: 8080, path: 'metrics' };
    const problems = validateManifest(doc).join('\n');
    expect(problems).toMatch(/port must be a port name/);
    expect(problems).toMatch(/path must start with \//);
  });

  test('a PrometheusRule rule without expr, with a bad for, and both alert and record', () => {
    const doc = monitoringObject('PrometheusRule') as K8sObject & { spec: { groups: { rules: Record<string, unknown>[] }[] } };
    doc.spec.groups[0]!.rules[0] = { alert: 'A', record: 'b', for: 'five minutes', labels: { severity: 3 } };
    const problems = validateManifest(doc).join('\n');
    expect(problems).toMatch(/needs exactly one of alert and record/);
    expect(problems).toMatch(/expr is required/);
    expect(problems).toMatch(/for five minutes is not a duration/);
    expect(problems).toMatch(/labels must map to strings/);
  });

  test('a NetworkPolicy with a string port list and a PriorityClass without value', () => {
    const policy = structuredClone(
      loadManifests(base).find((m) => m.doc.kind === 'NetworkPolicy' && m.doc.metadata?.name === 'redis')?.doc ?? {},
    );
    (policy as { spec: { ingress: unknown[] } }).spec.ingress = ['everyone'];
    expect(validateManifest(policy).length).toBeGreaterThan(0);
    const priority = structuredClone(loadManifests(base).find((m) => m.doc.kind === 'PriorityClass')?.doc ?? {});
    delete (priority as { value?: number }).value;
    expect(validateManifest(priority).join('\n')).toMatch(/value/);
  });

  test('a cluster-scoped PriorityClass given a namespace', () => {
    const manifests = loadManifests(base).map((m) =>
      m.doc.kind === 'PriorityClass' ? { ...m, doc: { ...m.doc, metadata: { ...m.doc.metadata, namespace: 'node-aggregation' } } } : m,
    );
    expect(checkKustomization(base, manifests).join('\n')).toMatch(
      /PriorityClass\/node-aggregation-redis: cluster-scoped, but has namespace/,
    );
  });
});
