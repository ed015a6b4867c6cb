/** Reads the deployment files (k8s/, docker-compose.yml, Dockerfile) into plain data for the checks. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments, parse, stringify } from 'yaml';

export const ROOT = path.resolve(__dirname, '..', '..');

/** Any Kubernetes (or CRD) object as parsed from YAML. */
export interface K8sObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

export interface Manifest {
  /** Path relative to the repository root, e.g. k8s/ingest.yaml. */
  file: string;
  /** Position of the document in its file. */
  index: number;
  doc: K8sObject;
}

export interface Kustomization {
  file: string;
  dir: string;
  /** Kustomization, or Component (a part a kustomization switches on with components:). */
  kind: string;
  namespace?: string;
  resources: string[];
  /** Files of patches (path:); inline patches are not listed. */
  patches: string[];
  images: { name: string; newName?: string; newTag?: string }[];
}

export function rel(file: string): string {
  return path.relative(ROOT, file).split(path.sep).join('/');
}

/** Every non-empty YAML document of a file; throws on any parse error. */
export function parseYamlFile(file: string): unknown[] {
  const text = readFileSync(file, 'utf8');
  const docs = parseAllDocuments(text, { merge: true });
  if (!Array.isArray(docs)) return [];
  const values: unknown[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      throw new Error(`${rel(file)}: ${doc.errors.map((e) => e.message).join('; ')}`);
    }
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) values.push(value);
  }
  return values;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** YAML files directly in `dir` (not in sub-folders). */
export function yamlFilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => /\.ya?ml$/.test(name) && statSync(path.join(dir, name)).isFile())
    .sort()
    .map((name) => path.join(dir, name));
}

export function loadKustomization(dir: string): Kustomization {
  const file = ['kustomization.yaml', 'kustomization.yml'].map((name) => path.join(dir, name)).find((candidate) => existsSync(candidate));
  if (file === undefined) throw new Error(`${rel(dir)} has no kustomization.yaml`);
  const [value] = parseYamlFile(file);
  if (!isObject(value)) throw new Error(`${rel(file)} is not a mapping`);
  const resources = Array.isArray(value.resources) ? value.resources.map(String) : [];
  const images = Array.isArray(value.images) ? (value.images as Kustomization['images']) : [];
  const namespace = typeof value.namespace === 'string' ? value.namespace : undefined;
  const patches = Array.isArray(value.patches)
    ? value.patches.flatMap((patch) => (isObject(patch) && typeof patch.path === 'string' ? [patch.path] : []))
    : [];
  const kind = typeof value.kind === 'string' ? value.kind : 'Kustomization';
  return { file: rel(file), dir: rel(dir), kind, namespace, resources, patches, images };
}

/**
 * What `kubectl kustomize` (kustomize v5, built into kubectl) renders for a folder, with components
 * switched on: what `kubectl apply -k` would send. Each object's file is the folder rendered.
 */
export function renderKustomization(dir: string, components: string[] = []): Manifest[] {
  let target = dir;
  let scratch: string | undefined;
  if (components.length > 0) {
    // A component is switched on by a kustomization; kustomize takes only relative paths.
    scratch = mkdtempSync(path.join(tmpdir(), 'nodeagg-render-'));
    const relative = (to: string) => path.relative(scratch ?? '', to);
    writeFileSync(
      path.join(scratch, 'kustomization.yaml'),
      stringify({ resources: [relative(dir)], components: components.map(relative) }),
    );
    target = scratch;
  }
  try {
    const text = execFileSync('kubectl', ['kustomize', target], { encoding: 'utf8' });
    const label = [rel(dir), ...components.map(rel)].join(' + ');
    return parseAllDocuments(text).map((doc, index) => ({ file: label, index, doc: doc.toJS() as K8sObject }));
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

/** The manifests a kustomization lists (files only; nested kustomizations are not followed). */
export function loadManifests(kustomization: Kustomization): Manifest[] {
  const manifests: Manifest[] = [];
  for (const resource of kustomization.resources) {
    const file = path.join(ROOT, kustomization.dir, resource);
    if (!existsSync(file) || !statSync(file).isFile()) continue; // reported by the kustomization check
    parseYamlFile(file).forEach((doc, index) => {
      manifests.push({ file: rel(file), index, doc: doc as K8sObject });
    });
  }
  return manifests;
}

// --- docker-compose.yml ----------------------------------------------------------

export type ComposeEnvironment = Record<string, string | number | boolean | null> | string[];

export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string | string[];
  environment?: ComposeEnvironment;
  ports?: (string | number | { target?: number; published?: string | number })[];
  expose?: (string | number)[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  container_name?: string;
  stop_grace_period?: string;
  init?: boolean;
  [field: string]: unknown;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** Compose variable interpolation with an empty environment: `${X:-default}` gives the default. */
export function interpolate(value: unknown, vars: Record<string, string> = {}): unknown {
  if (typeof value === 'string') {
    return value.replace(
      /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
      (whole, name?: string, op?: string, arg?: string, bare?: string) => {
        if (whole === '$$') return '$';
        const key = name ?? bare ?? '';
        const current = vars[key];
        const unset = op?.startsWith(':') ? current === undefined || current === '' : current === undefined;
        if (op?.endsWith('-')) return unset ? (arg ?? '') : (current ?? '');
        if (op?.endsWith('?') && unset) throw new Error(`compose variable ${key} is required: ${arg ?? ''}`);
        return current ?? '';
      },
    );
  }
  if (Array.isArray(value)) return value.map((item) => interpolate(item, vars));
  if (isObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, vars)]));
  }
  return value;
}

export function loadCompose(file = path.join(ROOT, 'docker-compose.yml')): ComposeFile {
  const [value] = parseYamlFile(file);
  if (!isObject(value) || !isObject(value.services)) throw new Error(`${rel(file)} has no services`);
  return interpolate(value) as ComposeFile;
}

// --- Dockerfile -------------------------------------------------------------------

export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

export interface Stage {
  /** Base image with build ARGs substituted. */
  from: string;
  name?: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  text: string;
  stages: Stage[];
}

/** Splits a Dockerfile into stages of instructions (comments dropped, continuations joined). */
export function parseDockerfile(text: string): Dockerfile {
  const logical: Instruction[] = [];
  let buffer = '';
  let start = 0;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (buffer === '' && (line === '' || line.startsWith('#'))) return;
    if (buffer !== '' && line.startsWith('#')) return; // comment inside a continuation
    if (buffer === '') start = i + 1;
    if (line.endsWith('\\')) {
      buffer += `${line.slice(0, -1).trim()} `;
      return;
    }
    buffer += line;
    const match = /^(\S+)\s*(.*)$/s.exec(buffer);
    if (match) logical.push({ keyword: (match[1] ?? '').toUpperCase(), args: (match[2] ?? '').trim(), line: start });
    buffer = '';
  });

  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const instruction of logical) {
    if (instruction.keyword === 'FROM') {
      const [image = '', as, name] = instruction.args.split(/\s+/);
      const from = image.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_m, arg: string) => globalArgs[arg] ?? '');
      stages.push({ from, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword === 'ARG') {
        const [name = '', value = ''] = instruction.args.split('=');
        globalArgs[name.trim()] = value.trim();
      }
    } else {
      stages[stages.length - 1]?.instructions.push(instruction);
    }
  }
  return { text, stages };
}

export function loadDockerfile(file = path.join(ROOT, 'Dockerfile')): Dockerfile {
  return parseDockerfile(readFileSync(file, 'utf8'));
}

/** JSON array (exec form) of an instruction's arguments, or undefined for shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.trim().startsWith('[')) return undefined;
  try {
    const value: unknown = JSON.parse(args);
    return Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : undefined;
  } catch {
    return undefined;
  }
}

export function finalStage(dockerfile: Dockerfile): Stage | undefined {
  return dockerfile.stages[dockerfile.stages.length - 1];
}

/** The last instruction of a kind in the final stage. */
export function lastInstruction(dockerfile: Dockerfile, keyword: string): Instruction | undefined {
  const stage = finalStage(dockerfile);
  return stage?.instructions.filter((i) => i.keyword === keyword).pop();
}

/** ENV of the final stage (KEY=value pairs; the old `ENV KEY value` form too). */
export function dockerfileEnv(dockerfile: Dockerfile): Record<string, string> {
  const env: Record<string, string> = {};
  for (const instruction of finalStage(dockerfile)?.instructions ?? []) {
    if (instruction.keyword !== 'ENV') continue;
    if (instruction.args.includes('=')) {
      for (const match of instruction.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("([^"]*)"|\S*)/g)) {
        env[match[1] ?? ''] = match[3] ?? match[2] ?? '';
      }
    } else {
      const [name = '', ...rest] = instruction.args.split(/\s+/);
      env[name] = rest.join(' ');
    }
  }
  return env;
}

/** The image's default command (exec-form CMD of the final stage). */
export function dockerfileCmd(dockerfile: Dockerfile): string[] | undefined {
  const cmd = lastInstruction(dockerfile, 'CMD');
  return cmd ? execForm(cmd.args) : undefined;
}

/** HEALTHCHECK's options and exec-form command. */
export function dockerfileHealthcheck(dockerfile: Dockerfile): { options: string[]; command?: string[] } | undefined {
  const instruction = lastInstruction(dockerfile, 'HEALTHCHECK');
  if (!instruction) return undefined;
  const match = /^((?:--\S+\s+)*)CMD\s+(.*)$/s.exec(instruction.args);
  if (!match) return { options: [] };
  return { options: (match[1] ?? '').trim().split(/\s+/).filter(Boolean), command: execForm(match[2] ?? '') };
}

/** Top-level names the final stage copies into the image (package.json, node_modules, dist, ...). */
export function dockerfileImageFiles(dockerfile: Dockerfile): string[] {
  const names: string[] = [];
  for (const instruction of finalStage(dockerfile)?.instructions ?? []) {
    if (instruction.keyword !== 'COPY') continue;
    const parts = instruction.args.split(/\s+/).filter((part) => !part.startsWith('--'));
    const dest = parts.pop() ?? '';
    for (const source of parts) {
      const name = dest.endsWith('/') ? path.posix.basename(source) : path.posix.basename(dest);
      if (!names.includes(name)) names.push(name);
    }
  }
  return names;
}

export function dockerfileWorkdir(dockerfile: Dockerfile): string {
  return lastInstruction(dockerfile, 'WORKDIR')?.args ?? '/';
}

// --- Everything at once -----------------------------------------------------------

export interface Bundle {
  base: Kustomization;
  keda: Kustomization;
  monitoring: Kustomization;
  /** Base, KEDA and monitoring manifests together (KEDA and monitoring objects refer to base objects). */
  manifests: Manifest[];
  compose: ComposeFile;
  dockerfile: Dockerfile;
  dockerignore: string[];
  /** Folders tsconfig.build.json compiles (must reach the image build). */
  buildInputs: string[];
  /** package.json "engines.node". */
  engines: string;
  /** .ci/run, which also runs the suite on the image's Node. */
  ciScript: string;
  readme: string;
  deploymentDoc: string;
}

/**
 * The deployment with the Redis Cluster switched on: the base rendered with the k8s/cluster
 * component, the KEDA objects of k8s/cluster/keda, the base's monitoring.
 */
export function loadClusterBundle(): Bundle {
  const bundle = loadBundle();
  const k8s = path.join(ROOT, 'k8s');
  const keda = path.join(k8s, 'cluster', 'keda');
  return {
    ...bundle,
    keda: loadKustomization(keda),
    manifests: [
      ...renderKustomization(k8s, [path.join(k8s, 'cluster')]),
      ...renderKustomization(keda),
      ...loadManifests(bundle.monitoring),
    ],
  };
}

export function loadBundle(): Bundle {
  const base = loadKustomization(path.join(ROOT, 'k8s'));
  const keda = loadKustomization(path.join(ROOT, 'k8s', 'keda'));
  const monitoring = loadKustomization(path.join(ROOT, 'k8s', 'monitoring'));
  const tsconfig = parse(readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8')) as { include?: string[] };
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines?: { node?: string } };
  const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
  return {
    base,
    keda,
    monitoring,
    manifests: [...loadManifests(base), ...loadManifests(keda), ...loadManifests(monitoring)],
    compose: loadCompose(),
    dockerfile: loadDockerfile(),
    dockerignore: read('.dockerignore')
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#')),
    buildInputs: tsconfig.include ?? [],
    engines: pkg.engines?.node ?? '',
    ciScript: read('.ci/run'),
    readme: read('README.md'),
    deploymentDoc: read('docs/DEPLOYMENT.md'),
  };
}
