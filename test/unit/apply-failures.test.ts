/** What the worker does with each kind of failed apply (worker/apply-failures.ts). */
import { ReplyError } from 'ioredis';
import { classifyFailure } from '../../worker/apply-failures';
import { BucketDecodeError } from '../../shared/store/bucket-codec';
import { EntryDecodeError } from '../../shared/store/entry-codec';
import { NodeSummaryDecodeError } from '../../shared/store/summary-codec';
import { WrongKeyTypeError } from '../../shared/store/wrong-key-type';

const reply = (message: string): Error => new (ReplyError as new (message: string) => Error)(message);

test.each([
  ['an undecodable entry', 'deterministic', new EntryDecodeError('line 1: not a sample')],
  ['a key of another type, found by TYPE', 'deterministic', new WrongKeyTypeError('na:{p0of1}:nodes', 'string', 'zset')],
  ['a key of another type, refused by Redis', 'deterministic', reply('WRONGTYPE Operation against a key holding the wrong kind of value')],
  ['a stored bucket of another form', 'deterministic', new BucketDecodeError(7)],
  ['a stored summary of another form', 'deterministic', new NodeSummaryDecodeError(3)],
  ['a script error', 'deterministic', reply('ERR user_script:1: boom')],
  ['Redis over maxmemory', 'transient', reply("OOM command not allowed when used memory > 'maxmemory'.")],
  ['a closed connection', 'transient', new Error('Connection is closed.')],
  ['a bug of ours', 'unexpected', new TypeError('cannot read properties of undefined')],
])('%s is %s', (_, kind, error) => {
  expect(classifyFailure(error)).toBe(kind);
});
