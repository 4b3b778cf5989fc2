import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { flushRow } from './experiments/live/flush.js';
import { readRunDir, writeRunDir } from './experiments/live/dir.js';
for (const dir of process.argv.slice(2)) {
  const d = readRunDir(dir);
  const destroys = parse(readFileSync(join(dir, 'destroys.csv'), 'utf8'), { columns: true, cast: true }) as {
    repeat: number;
    t_ms: number;
  }[];
  const p = { ...(d.info.params as never as object), repeats: d.results.length } as never;
  const results = d.results.map((r, i) =>
    flushRow(p, i, {
      destroyMs: destroys.filter((x) => x.repeat === i).map((x) => x.t_ms),
      enobufs: Number(r.enobufs),
      rcvbuf: Number(r.rcvbuf_bytes),
      drops: 0,
      samples: [],
    }),
  );
  const samples = parse(readFileSync(join(dir, 'samples.csv'), 'utf8'), { columns: true, cast: true });
  writeRunDir(dir, d.info, results, { destroys: destroys as never, samples });
  console.log(dir);
  console.log(results);
}
