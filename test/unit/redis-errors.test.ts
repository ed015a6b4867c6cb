/** Redis failures are told apart by the error classes ioredis throws (no Redis needed; real ones in test/integration/redis-errors.test.ts). */
import { ReplyError } from 'ioredis';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors';
import ClusterAllFailedError from 'ioredis/built/errors/ClusterAllFailedError';
import {
  classifyRedisError,
  isCommandTimeout,
  isNoGroup,
  isOutOfMemory,
  isRedisUnavailable,
  isTransientRedisError,
  wasNeverSent,
  type RedisErrorClass,
} from '../../shared/store/redis-errors';

/** What ioredis rejects with when Redis answers an error (declared `any` by ioredis). */
function reply(message: string): Error {
  return new (ReplyError as new (message: string) => Error)(message);
}

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

test.each<[string, unknown, RedisErrorClass]>([
  ['OOM reply', reply("OOM command not allowed when used memory > 'maxmemory'."), 'out-of-memory'],
  [
    'OOM inside a script (Redis 7)',
    reply("OOM command not allowed when used memory > 'maxmemory'. script: 0dcf72fc, on @user_script:1."),
    'out-of-memory',
  ],
  [
    'OOM inside a script (Redis 6)',
    reply("ERR Error running script: OOM command not allowed when used memory > 'maxmemory'"),
    'out-of-memory',
  ],
  [
    'NOGROUP',
    reply("NOGROUP No such key 'na:{p0of4-3}:stream' or consumer group 'aggregators' in XREADGROUP with GROUP option"),
    'no-group',
  ],
  ['BUSYGROUP', reply('BUSYGROUP Consumer Group name already exists'), 'group-exists'],
  ['WRONGTYPE', reply('WRONGTYPE Operation against a key holding the wrong kind of value'), 'wrong-type'],
  ['XINFO on a missing key', reply('ERR no such key'), 'no-such-key'],
  ['LOADING', reply('LOADING Redis is loading the dataset in memory'), 'unavailable'],
  ['BUSY script', reply('BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.'), 'unavailable'],
  ['READONLY replica', reply("READONLY You can't write against a read only replica."), 'unavailable'],
  ['MASTERDOWN', reply('MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no.'), 'unavailable'],
  ['CLUSTERDOWN', reply('CLUSTERDOWN The cluster is down'), 'unavailable'],
  ['TRYAGAIN', reply('TRYAGAIN Multiple keys request during rehashing of slot'), 'unavailable'],
  ['NOSCRIPT', reply('NOSCRIPT No matching script. Please use EVAL.'), 'rejected'],
  ['a script error', reply('ERR user_script:12: Script attempted to access nonexistent global variable'), 'rejected'],
  ['a bad argument', reply('ERR value is not an integer or out of range'), 'rejected'],
  ['max retries per request', new MaxRetriesPerRequestError(1), 'unavailable'],
  ['connection closed', new Error('Connection is closed.'), 'unavailable'],
  ['command timeout', new Error('Command timed out'), 'unavailable'],
  ['refused connection', withCode('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED'), 'unavailable'],
  ['reset connection', withCode('read ECONNRESET', 'ECONNRESET'), 'unavailable'],
  ['connect timeout', withCode('connect ETIMEDOUT', 'ETIMEDOUT'), 'unavailable'],
  ['offline queue refusal', new Error("Stream isn't writeable and enableOfflineQueue options is false"), 'not-sent'],
  ['cluster: not ready, offline queue off', new Error("Cluster isn't ready and enableOfflineQueue options is false"), 'not-sent'],
  [
    'cluster: no node reachable',
    new ClusterAllFailedError('Failed to refresh slots cache.', new Error('connect ECONNREFUSED')),
    'unavailable',
  ],
  ['cluster: no startup node', new Error('None of startup nodes is available'), 'unavailable'],
  [
    'cluster: redirections exhausted',
    new Error('Too many Cluster redirections. Last error: ReplyError: CLUSTERDOWN The cluster is down'),
    'unavailable',
  ],
  ['cluster: a MOVED reply that reached the caller', reply('MOVED 15882 127.0.0.1:7002'), 'unavailable'],
  ['cluster: an ASK reply that reached the caller', reply('ASK 15882 127.0.0.1:7002'), 'unavailable'],
  ['a plain error that merely mentions OOM', new Error("OOM command not allowed when used memory > 'maxmemory'."), 'not-redis'],
  ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'x')"), 'not-redis'],
  ['undefined', undefined, 'not-redis'],
  ['a string', 'OOM', 'not-redis'],
])('%s is %s', (_name, error, expected) => {
  expect(classifyRedisError(error)).toBe(expected);
});

test('the predicates follow the classes', () => {
  const oom = reply("OOM command not allowed when used memory > 'maxmemory'.");
  const offline = new Error("Stream isn't writeable and enableOfflineQueue options is false");
  const closed = new Error('Connection is closed.');
  const scriptError = reply('ERR user_script:1: boom');

  expect([oom, offline, closed, scriptError].map(isOutOfMemory)).toEqual([true, false, false, false]);
  expect([oom, offline, closed, scriptError].map(wasNeverSent)).toEqual([false, true, false, false]);
  // Out of memory has its own answer (503 REDIS_OUT_OF_MEMORY), so it is not "unavailable".
  expect([oom, offline, closed, scriptError].map(isRedisUnavailable)).toEqual([false, true, true, false]);
  expect([oom, offline, closed, scriptError].map(isTransientRedisError)).toEqual([true, true, true, false]);
});

test('a command timeout and a missing group are told apart from other failures', () => {
  const timeout = new Error('Command timed out');
  const noGroup = reply("NOGROUP No such key 'na:{p0of4-3}:stream' or consumer group 'aggregators' in XREADGROUP with GROUP option");
  const closed = new Error('Connection is closed.');
  const aReplyMentioningIt = reply('ERR Command timed out in the script');
  expect([timeout, noGroup, closed, aReplyMentioningIt].map(isCommandTimeout)).toEqual([true, false, false, false]);
  expect([timeout, noGroup, closed, aReplyMentioningIt].map(isNoGroup)).toEqual([false, true, false, false]);
});
