// The same consumer test in JavaScript (Node, no dependencies), on the JSON Lines fixture:
//   node replay.mjs fixture.jsonl LISTENER
// Prints the same JSON object as replay.py.
import { readFileSync } from 'node:fs';

const [path, listener] = process.argv.slice(2);
const report = { new: 0, update: 0, destroy: 0, enobufs: 0, unknown_destroy: 0, repeated_destroy: 0 };
const table = new Map();
const gone = new Set();
for (const line of readFileSync(path, 'utf8').split('\n')) {
  if (!line) continue;
  const r = JSON.parse(line);
  if (r.listener !== listener) continue;
  if (r.kind === 'enobufs') report.enobufs++;
  if (r.kind !== 'msg') continue;
  report[r.type]++;
  const tuple = [r.proto, r.src, r.dst, r.sport, r.dport].join(' ');
  if (r.type !== 'destroy') {
    table.set(tuple, r.id);
    gone.delete(`${tuple}#${r.id}`);
  } else if (table.get(tuple) === r.id) {
    table.delete(tuple);
    gone.add(`${tuple}#${r.id}`);
  } else if (gone.has(`${tuple}#${r.id}`)) report.repeated_destroy++;
  else report.unknown_destroy++;
}
report.open_flows = table.size;
console.log(JSON.stringify(Object.fromEntries(Object.entries(report).sort())));
