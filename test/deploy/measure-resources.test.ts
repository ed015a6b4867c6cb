/**
 * The measurement DEPLOYMENT's resource requests are sized from runs end to end, in short
 * phases: a private Redis, ingest and a worker from dist/, wrk, and a row for each figure.
 */
import { spawnSync } from 'node:child_process';
import { ROOT } from '../support/deploy-files';

test('the resource measurement runs and prints every figure', () => {
  const result = spawnSync('bash', ['test/deploy/tools/measure-resources.sh', '1'], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
  if (result.error) throw result.error;
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const rows = new Map(
    result.stdout
      .trim()
      .split('\n')
      .map((line) => [line.slice(0, 44).trim(), line.slice(44).trim()] as const),
  );
  expect(rows.get('load average before (1/5/15 min)')).toMatch(/^\d+\.\d+ \d+\.\d+ \d+\.\d+$/);
  expect(rows.get('single POSTs: ingest CPU per request')).toMatch(/^\d+\.\d{3} ms$/);
  expect(rows.get('single POSTs: worker CPU per sample')).toMatch(/^\d+\.\d{3} ms$/);
  expect(rows.get('batches of 100: ingest CPU per sample')).toMatch(/^\d+\.\d{4} ms$/);
  expect(rows.get('batches of 100: worker CPU per sample')).toMatch(/^\d+\.\d{4} ms$/);
  expect(rows.get('ingest RSS idle / peak')).toMatch(/^\d+ \/ \d+ MiB$/);
  expect(rows.get('worker RSS idle / peak')).toMatch(/^\d+ \/ \d+ MiB$/);
}, 300_000);
