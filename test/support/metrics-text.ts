/** Reads values out of a Prometheus /metrics text (the exposition format prom-client writes). */

/** The value of a metric without labels; undefined when it is not exported. */
export function metricValue(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/** The values of a per-partition metric, by partition. */
export function partitionValues(text: string, name: string): Map<number, number> {
  const values = new Map<number, number>();
  for (const line of text.split('\n')) {
    const match = /^([^{ ]+)\{partition="(\d+)"\} (\S+)$/.exec(line);
    if (match?.[1] === name) values.set(Number(match[2]), Number(match[3]));
  }
  return values;
}
