/** What the checks compare the deployment files with: the code's settings, key names, health paths and build output. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { SETTINGS, loadConfig } from '../../shared/config';
import { partitionKeys } from '../../shared/store/keys';
import { SERVICE_NODE_FLAGS } from '../../launcher/service-node-flags';
import { HEALTH_PATHS, type Context } from './deploy-checks';
import { ROOT, type Bundle } from './deploy-files';

export function projectContext(bundle: Bundle): Context {
  const appImage = bundle.base.images[0]?.name;
  if (!appImage) throw new Error(`${bundle.base.file} has no images: entry naming the project's image`);
  return {
    settings: SETTINGS,
    loadConfig,
    healthPaths: HEALTH_PATHS,
    appImage,
    entryExists: (file) => existsSync(path.join(ROOT, file)),
    streamKey: (prefix, partition, count) => partitionKeys(prefix, partition, count).stream,
    serviceNodeFlags: SERVICE_NODE_FLAGS,
  };
}

/**
 * The same for a rendered deployment (loadClusterBundle): there the kustomization's images: entry
 * is already applied, so the app containers run the image it names.
 */
export function renderedContext(bundle: Bundle): Context {
  const entry = bundle.base.images[0];
  return { ...projectContext(bundle), appImage: entry?.newName ?? entry?.name ?? '' };
}
