/** The collectd configuration of docs/AGENTS.md, generated: the collectd test runs it, a unit test checks the doc shows it. */

export interface CollectdSetup {
  hostname: string;
  intervalSeconds: number;
  baseDir: string;
  pidFile: string;
  /** The ingest's /collectd URL. */
  url: string;
  /** A token with the write scope, when ingest requires tokens. */
  token?: string;
  /** Processes to report: name -> regular expression over the command line. */
  processes: Record<string, string>;
}

export function collectdConfig(s: CollectdSetup): string {
  const processes = Object.entries(s.processes)
    .map(([name, regex]) => `  ProcessMatch "${name}" "${regex}"`)
    .join('\n');
  const header = s.token === undefined ? '' : `\n    Header "Authorization: Bearer ${s.token}"`;
  return `Hostname "${s.hostname}"
FQDNLookup false
Interval ${s.intervalSeconds}
BaseDir "${s.baseDir}"
PIDFile "${s.pidFile}"

LoadPlugin logfile
<Plugin logfile>
  LogLevel warning
  File STDERR
</Plugin>

LoadPlugin cpu
<Plugin cpu>
  ReportByCpu false
  ReportByState true
  ValuesPercentage true
</Plugin>

LoadPlugin memory
<Plugin memory>
  ValuesAbsolute false
  ValuesPercentage true
</Plugin>

LoadPlugin processes
<Plugin processes>
${processes}
</Plugin>

# Several intervals per POST: a node sample needs the cpu and memory values of one reading together.
<LoadPlugin write_http>
  FlushInterval ${s.intervalSeconds * 2}
</LoadPlugin>
<Plugin write_http>
  <Node "nodeagg">
    URL "${s.url}"
    Format "JSON"
    StoreRates true
    BufferSize 262144${header}
  </Node>
</Plugin>
`;
}
