/**
 * The keys a plan touches, each name built once per planning pass instead of once per
 * sample: a batch's samples share a few chunks and processes, and building and hashing the
 * same 40-character names again was a tenth of the worker's planning.
 */
import type { PartitionKeys } from './keys';

/** Names by chunk, then by name. */
class Memo {
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
  private readonly fleetFineKeys: Memo;
  private readonly nodeSecondsKeys: Memo;
  private readonly fleetCoarseKeys: Memo;
  private readonly allProcessesFineKeys: Memo;
  private readonly allProcessesCoarseKeys: Memo;
  private readonly processFineKeys: Memo;
  private readonly processCoarseKeys: Memo;
  private readonly processNodesKeys: Memo;
  private readonly nodeProcessesKeys: Memo;

  constructor(readonly keys: PartitionKeys) {
    this.fleetFineKeys = new Memo((chunk) => keys.fleetFine(chunk));
    this.nodeSecondsKeys = new Memo((chunk) => keys.nodeSeconds(chunk));
    this.fleetCoarseKeys = new Memo((chunk) => keys.fleetCoarse(chunk));
    this.allProcessesFineKeys = new Memo((chunk) => keys.allProcessesFine(chunk));
    this.allProcessesCoarseKeys = new Memo((chunk) => keys.allProcessesCoarse(chunk));
    this.processFineKeys = new Memo((chunk, process) => keys.processFine(chunk, process));
    this.processCoarseKeys = new Memo((chunk, process) => keys.processCoarse(chunk, process));
    this.processNodesKeys = new Memo((_, process) => keys.processNodes(process));
    this.nodeProcessesKeys = new Memo((_, node) => keys.nodeProcesses(node));
  }

  fleetFine(chunk: number): string {
    return this.fleetFineKeys.get(chunk, '');
  }
  nodeSeconds(chunk: number): string {
    return this.nodeSecondsKeys.get(chunk, '');
  }
  fleetCoarse(chunk: number): string {
    return this.fleetCoarseKeys.get(chunk, '');
  }
  allProcessesFine(chunk: number): string {
    return this.allProcessesFineKeys.get(chunk, '');
  }
  allProcessesCoarse(chunk: number): string {
    return this.allProcessesCoarseKeys.get(chunk, '');
  }
  processFine(chunk: number, process: string): string {
    return this.processFineKeys.get(chunk, process);
  }
  processCoarse(chunk: number, process: string): string {
    return this.processCoarseKeys.get(chunk, process);
  }
  processNodes(process: string): string {
    return this.processNodesKeys.get(0, process);
  }
  nodeProcesses(node: string): string {
    return this.nodeProcessesKeys.get(0, node);
  }
}
