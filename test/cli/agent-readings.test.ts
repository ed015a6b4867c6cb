/** The agent's readings: /proc parsing, name sanitising, and its figures against the operating system's own (Linux). */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { toNodeName, toProcessName } from '../../cli/agent/agent-names';
import { parseMeminfo, parsePidStat, parseProcStat } from '../../cli/agent/proc-parsers';
import { NODE_NAME_PATTERN, PROCESS_NAME_PATTERN } from '../../shared/names';
import { runCli } from '../support/run-cli';

const exec = promisify(execFile);

describe('/proc parsers', () => {
  test('/proc/stat: busy is everything but idle and iowait', () => {
    const text = 'cpu  100 5 50 800 20 3 2 1 7 0\ncpu0 50 2 25 400 10 1 1 0 3 0\nintr 1\n';
    expect(parseProcStat(text)).toEqual({ busy: 100 + 5 + 50 + 3 + 2 + 1, total: 981 });
  });

  test('/proc/meminfo: MemAvailable, or free + buffers + cached on old kernels', () => {
    expect(parseMeminfo('MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    600 kB\n')).toEqual({
      totalKb: 1000,
      availableKb: 600,
    });
    expect(parseMeminfo('MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\n')).toEqual({
      totalKb: 1000,
      availableKb: 400,
    });
  });

  test('/proc/[pid]/stat: a name with spaces and parentheses', () => {
    const fields = [
      'S',
      '1',
      '2',
      '3',
      '0',
      '-1',
      '4194560',
      '100',
      '0',
      '0',
      '0',
      '700',
      '300',
      '0',
      '0',
      '20',
      '0',
      '4',
      '0',
      '123456',
      '99999999',
      '2500',
    ];
    expect(parsePidStat(`42 (my (odd) name) ${fields.join(' ')} 18446744073709551615 1 1 0`)).toEqual({
      comm: 'my (odd) name',
      ticks: 1000,
      startTime: 123456,
      rssPages: 2500,
    });
    expect(parsePidStat('garbage')).toBeUndefined();
  });

  test('names become names the service accepts', () => {
    expect(toNodeName('web-1.example.com')).toBe('web-1.example.com');
    expect(toNodeName('_my host!')).toBe('my-host-');
    expect(toNodeName('')).toBe('localhost');
    expect(toProcessName('kworker/0:1-events')).toBe('kworker/0:1-events');
    expect(toProcessName(' npm exec tsc ')).toBe('npm exec tsc');
    expect(toProcessName('a\tb{c}')).toBe('a_b_c_');
    expect(toProcessName('x'.repeat(200))).toHaveLength(128);
    for (const raw of ['żółw', ' ', '{}', 'a'.repeat(300), '-x']) {
      expect(toNodeName(raw)).toMatch(new RegExp(NODE_NAME_PATTERN));
      expect(toProcessName(raw)).toMatch(new RegExp(PROCESS_NAME_PATTERN));
    }
  });
});

const linux = process.platform === 'linux';
// vmstat, free, ps and top come with procps; without them there is nothing to compare against.
const procps = ['vmstat', 'free', 'ps', 'top'].every((cmd) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0);

(linux && procps ? describe : describe.skip)('readings against the operating system (Linux, procps)', () => {
  test('node CPU vs vmstat, memory vs free, a busy process vs ps', async () => {
    // A process that keeps one core busy, with a name of its own.
    const burner = spawn(process.execPath, ['-e', "process.title = 'naburn'; for (;;) {}"], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 500));
      // The same 2-second interval, measured by the agent, by vmstat and by top side by side.
      const env = { ...process.env, LC_ALL: 'C' };
      const [agent, vmstat, top] = await Promise.all([
        runCli(['agent', '--once', '--dry-run', '--json', '--interval', '2', '--top', '1000']),
        exec('vmstat', ['2', '2'], { env }),
        exec('top', ['-b', '-n', '2', '-d', '2', '-p', String(burner.pid)], { env }),
      ]);
      const [ps, free] = await Promise.all([exec('ps', ['-o', 'rss=', '-p', String(burner.pid)]), exec('free', ['-b'])]);
      expect(agent.code).toBe(0);
      const reading = JSON.parse(agent.stdout) as {
        cpu: number;
        mem: number;
        timeslice: number;
        processes: { name: string; cpu: number; mem_mb: number; count: number }[];
      };
      expect(reading.timeslice).toBeGreaterThan(1.5);

      // vmstat's last line covers the interval: us sy id wa st are its last five columns.
      const columns = vmstat.stdout.trim().split('\n').pop()!.trim().split(/\s+/).map(Number);
      const [idle, iowait] = columns.slice(-3, -1) as [number, number];
      const vmstatBusy = 100 - idle - iowait;
      expect(Math.abs(reading.cpu - vmstatBusy)).toBeLessThan(25);

      // free: used = total - available.
      const mem = free.stdout
        .split('\n')
        .find((l) => l.startsWith('Mem:'))!
        .trim()
        .split(/\s+/)
        .map(Number);
      const freeUsed = ((mem[1]! - mem[6]!) / mem[1]!) * 100;
      expect(Math.abs(reading.mem - freeUsed)).toBeLessThan(2);

      // The burner: top's %CPU over the same interval (its last line), and ps's resident size.
      const burn = reading.processes.find((p) => p.name === 'naburn');
      expect(burn).toBeDefined();
      expect(burn!.count).toBe(1);
      const topLine = top.stdout.trim().split('\n').pop()!.trim().split(/\s+/);
      expect(topLine[0]).toBe(String(burner.pid));
      expect(burn!.cpu).toBeGreaterThan(10);
      expect(Math.abs(burn!.cpu - Number(topLine[8]))).toBeLessThan(25);
      const psMb = Number(ps.stdout.trim()) / 1024;
      expect(Math.abs(burn!.mem_mb - psMb)).toBeLessThan(Math.max(2, psMb * 0.1));
      // Busiest first.
      const cpus = reading.processes.map((p) => p.cpu);
      expect(cpus).toEqual([...cpus].sort((a, b) => b - a));
    } finally {
      burner.kill('SIGKILL');
    }
  });
});
