/**
 * `npm run bench:append`: the Redis instructions per POST of ingest's appends, in the shape of
 * the single-POST load: groups of single-sample POSTs over every partition (the group commit
 * joins the requests that arrive while a write is in flight), through the transaction and
 * through append-samples.lua (as a cluster, or a group with an Idempotency-Key, goes).
 *
 * A private redis-server under callgrind (redis-instructions.ts): a count repeats for the
 * same binary and inputs, whatever else the machine does. Each count covers `groups` groups
 * after a warm-up, so streams, their nodes and the connections exist.
 */
import Redis from 'ioredis';
import { Command, Option } from 'commander';
import { CountedRedis } from './redis-instructions';
import { encodeSamples } from '../shared/store/entry-codec';
import { SampleAppender, type AppendMethod, type AppendRequest } from '../shared/store/sample-append';

const WARM_GROUPS = 50;
const NODES = 1000;

interface Options {
  partitions: number;
  postsPerGroup: number[];
  groups: number;
  keepDumps: boolean;
}

/** A group of single-sample POSTs, each to its own node, spread over the partitions as FNV routing spreads them. */
function groupOf(first: number, posts: number, partitions: number, at: number): AppendRequest[] {
  return Array.from({ length: posts }, (_, i) => {
    const n = first + i;
    const lines = encodeSamples([{ kind: 'node', node: `wrk-${n % NODES}`, at, timeslice: 10, cpu: 42.5, mem: 61 }]);
    return { parts: [{ partition: n % partitions, lines }], samples: 1 };
  });
}

async function instructionsPerPost(counted: CountedRedis, method: AppendMethod, options: Options, posts: number): Promise<number> {
  const redis = new Redis(counted.url);
  try {
    await redis.flushall();
    const appender = new SampleAppender(redis, 'bench', options.partitions, undefined, method);
    let sent = 0;
    const appendGroups = async (groups: number) => {
      for (let g = 0; g < groups; g++) {
        const result = await appender.append(`g${sent}`, groupOf(sent, posts, options.partitions, Date.now()));
        if (result.kind !== 'appended') throw new Error(`append refused: ${result.kind}`);
        sent += posts;
      }
    };
    await appendGroups(WARM_GROUPS);
    const instructions = await counted.count(() => appendGroups(options.groups));
    return instructions / (options.groups * posts);
  } finally {
    redis.disconnect();
  }
}

async function main(): Promise<void> {
  const program = new Command()
    .description("Redis instructions per POST of ingest's appends, through the transaction and through the script")
    .addOption(new Option('--partitions <n>', 'STREAM_PARTITIONS').default('4'))
    .addOption(new Option('--posts-per-group <list>', 'POSTs the group commit joins, comma-separated').default('6,24,48'))
    .addOption(new Option('--groups <n>', 'groups counted per shape').default('400'))
    .addOption(new Option('--keep-dumps', "keep callgrind's dumps for callgrind_annotate"))
    .parse();
  const raw = program.opts<{ partitions: string; postsPerGroup: string; groups: string; keepDumps?: boolean }>();
  const options: Options = {
    partitions: Number(raw.partitions),
    postsPerGroup: raw.postsPerGroup.split(',').map(Number),
    groups: Number(raw.groups),
    keepDumps: raw.keepDumps ?? false,
  };
  const counted = await CountedRedis.start(options.keepDumps);
  try {
    console.log(`\n${options.partitions} partitions, ${options.groups} groups counted per shape, single-sample POSTs\n`);
    console.log('| POSTs per group | transaction (instructions per POST) | script | transaction / script |');
    console.log('|---|---|---|---|');
    for (const posts of options.postsPerGroup) {
      const transaction = await instructionsPerPost(counted, 'auto', options, posts);
      const script = await instructionsPerPost(counted, 'script', options, posts);
      console.log(
        `| ${posts} | ${Math.round(transaction).toLocaleString('en-US')} | ${Math.round(script).toLocaleString('en-US')} | ${(transaction / script).toFixed(2)} |`,
      );
    }
  } finally {
    await counted.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
