/**
 * The keys a plan touches, each name built once per planning pass instead of once per
 * sample: a batch's samples share a few chunks and processes, and building and hashing the
 * same 40-character names again was a tenth of the worker's planning.
 */
import type { PartitionKeys } from './keys';

/** Names of one kind of key, by chunk and name ('' for kinds that have no name). */
export class KeyNames {
  private readonly byChunk = new Map<number, Map<string, string>>();

  constructor(private readonly build: (chunk: number, name: string) => string) {}

  get(chunk: number, name: string): string {
    let names = this.byChunk.get(chunk);
    if (names === undefined) this.byChunk.set(chunk, (names = new Map()));
    let key = names.get(name);
    if (key === undefined) names.set(name, (key = this.build(chunk, name)));
    return key;
  }
}

export class PlanKeys {
  readonly fleetFine: KeyNames;
  readonly nodeSeconds: KeyNames;
  readonly fleetCoarse: KeyNames;
  readonly allProcessesFine: KeyNames;
  readonly allProcessesCoarse: KeyNames;
  /** by chunk and process */
  readonly processFine: KeyNames;
  readonly processCoarse: KeyNames;
  private readonly processNodesKeys: KeyNames;
  private readonly nodeProcessesKeys: KeyNames;

  constructor(readonly keys: PartitionKeys) {
    this.fleetFine = new KeyNames((chunk) => keys.fleetFine(chunk));
    this.nodeSeconds = new KeyNames((chunk) => keys.nodeSeconds(chunk));
    this.fleetCoarse = new KeyNames((chunk) => keys.fleetCoarse(chunk));
    this.allProcessesFine = new KeyNames((chunk) => keys.allProcessesFine(chunk));
    this.allProcessesCoarse = new KeyNames((chunk) => keys.allProcessesCoarse(chunk));
    this.processFine = new KeyNames((chunk, process) => keys.processFine(chunk, process));
    this.processCoarse = new KeyNames((chunk, process) => keys.processCoarse(chunk, process));
    this.processNodesKeys = new KeyNames((_, process) => keys.processNodes(process));
    this.nodeProcessesKeys = new KeyNames((_, node) => keys.nodeProcesses(node));
  }

  processNodes(process: string): string {
    return this.processNodesKeys.get(0, process);
  }
  nodeProcesses(node: string): string {
    return this.nodeProcessesKeys.get(0, node);
  }
}
