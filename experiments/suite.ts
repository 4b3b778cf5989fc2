// The main job (`npm start`): quick variants of the headline experiments, results/index.html,
// and a compact summary on stdout.
import { join } from 'node:path';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { requireComplete } from './lib/folder.js';
import { ConfigError } from '../sim/index.js';
import { NOT_OBSERVED, runExperiment } from './lib/runner.js';
import { writeAtomic } from './lib/output.js';
import { EXPERIMENTS, REGISTRY } from './registry.js';

export const HEADLINE = ['seed-stress', 'flush', 'retry-delay', 'reorder', 'table-full'];

/** The main job ran, but a headline point's phenomenon did not happen: its printed answer would be vacuous. */
export class NotObservedError extends Error {}

export async function runSuite(o: {
  seed: number;
  jobs: number;
  out: string;
  progress: (label: string) => { update(d: number, t: number): void; stop(): void };
}): Promise<string> {
  const names = HEADLINE.filter((n) => n in EXPERIMENTS);
  const lines: string[] = [];
  for (const name of names) {
    const bar = o.progress(name);
    const summary = await runExperiment(REGISTRY, name, {
      seed: o.seed,
      jobs: o.jobs,
      out: join(o.out, name),
      quick: true,
      sets: [],
      resume: false,
      // The main job replaces its own previous results (what nfct-sim wrote, nothing else).
      force: true,
      onProgress: (d, t) => bar.update(d, t),
    });
    bar.stop();
    lines.push(...summary, '');
  }
  writeReport(o.out);
  lines.push(`Written to ${o.out} (open ${join(o.out, 'index.html')}).`);
  const vacuous = lines.filter((l) => l.trimStart().startsWith(NOT_OBSERVED));
  if (vacuous.length > 0) {
    console.log(lines.join('\n'));
    throw new NotObservedError(
      `${vacuous.length} headline point(s) did not produce what they report on:\n${vacuous.join('\n')}`,
    );
  }
  return lines.join('\n');
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Writes `<dir>/index.html` for a results folder: one section per experiment folder in it (or
 * for the folder itself when it is one experiment's). Returns the page's path.
 */
export function writeReport(dir: string): string {
  let names: string[];
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new ConfigError('report', dir, 'must be a folder written by nfct-sim run or suite (it is not a folder)');
  if (existsSync(join(dir, 'summary.md'))) names = ['.'];
  else
    names = readdirSync(dir)
      .filter((n) => existsSync(join(dir, n, 'summary.md')))
      .sort((a, b) => order(a) - order(b));
  if (names.length === 0)
    throw new ConfigError('report', dir, 'must be a folder written by nfct-sim run or suite (no summary.md found)');
  for (const n of names) requireComplete('report', join(dir, n), ['run']);
  const path = join(dir, 'index.html');
  writeAtomic(path, indexHtml(dir, names));
  return path;
}

const order = (n: string): number => {
  const i = Object.keys(EXPERIMENTS).indexOf(n);
  return i < 0 ? 1e9 : i;
};

/** Said once at the top of the report, so that answers can use the words. */
const GLOSSARY = [
  [
    'parked',
    'a conntrack entry that is dead but whose DESTROY event could not be delivered yet: the kernel keeps it (it still counts toward nf_conntrack_max) and retries the event later',
  ],
  [
    'a ± b',
    'the mean over the replications and the half-width of its 95 % confidence interval; "identical in all N runs" when every replication gave the same figure',
  ],
  ['a (runs lo–hi)', 'where the 95 % interval would be wider than the mean, the range of the runs is given instead'],
  ['NOT OBSERVED', 'the phenomenon the figure counts did not happen at that point, so the figure answers nothing'],
];

/** A static page with every experiment's answer first, then its plots (inline) and tables. */
export function indexHtml(out: string, names: readonly string[]): string {
  const sections = names.map((n) => {
    const md = readFileSync(join(out, n, 'summary.md'), 'utf8');
    const title = md.split('\n')[0]!.replace(/^# /, '');
    const question = md.split('\n').find((l) => l.startsWith('**Question'));
    const answers = md
      .split('\n')
      .filter((l) => l.startsWith('- '))
      .map((l) => `<li>${esc(l.slice(2))}</li>`);
    const plots = [...new Set([...md.matchAll(/([a-z0-9-]+)\.svg/g)].map((m) => m[1]!))].map((p) => {
      const svg = readFileSync(join(out, n, `${p}.svg`), 'utf8').replace(/^<\?xml[^>]*>\s*/, '');
      const data = existsSync(join(out, n, `${p}-data.csv`))
        ? `<a href="${n}/${p}-data.csv">data (${p}-data.csv)</a> · `
        : '';
      return `<figure class="plot" data-plot="${esc(n)}/${esc(p)}">${svg}<figcaption>${data}<a href="${n}/${p}.vl.json">Vega-Lite spec</a> · <a href="${n}/${p}.svg">SVG</a></figcaption></figure>`;
    });
    const q = question ? `<p class="question">${esc(question.replace(/\*\*/g, ''))}</p>` : '';
    return `<section id="${esc(n)}"><h2>${esc(title)}</h2>${q}<h3>Answer</h3><ul class="answer">${answers.join('')}</ul>${plots.join('')}${tableHtml(join(out, n, 'summary.csv'))}<p class="files"><a href="${n}/results.csv">results.csv</a> · <a href="${n}/summary.csv">summary.csv</a> · <a href="${n}/summary.md">summary.md</a> · <a href="${n}/params.json">params.json</a></p></section>`;
  });
  const glossary = GLOSSARY.map(([k, v]) => `<dt>${esc(k!)}</dt><dd>${esc(v!)}</dd>`).join('');
  const toc = names.map((n) => `<a href="#${esc(n)}">${esc(n === '.' ? 'results' : n)}</a>`).join(' · ');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>nfct-sim results</title><style>${CSS}</style></head><body><h1>nfct-sim results</h1><p>${toc}</p><details open><summary>How to read the answers</summary><dl>${glossary}</dl></details>${sections.join('\n')}<script>${SORT_JS}</script></body></html>\n`;
}

const CSS =
  'body{font-family:sans-serif;max-width:62em;margin:2em auto;padding:0 1em;line-height:1.4}figure{margin:1em 0}figure svg{max-width:100%;height:auto}figcaption{font-size:.85em}.scroll{overflow-x:auto;max-width:100%}table{border-collapse:collapse;font-size:.85em}th,td{border:1px solid #bbb;padding:2px 6px;text-align:right}th{cursor:pointer;background:#eee}th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}.answer li{margin:.3em 0}dt{font-weight:bold}';

/** Click a column header to sort the table by it (numbers as numbers), again to reverse. */
const SORT_JS = `document.querySelectorAll('table.sortable').forEach(function (t) {
  t.querySelectorAll('th').forEach(function (th, i) {
    th.addEventListener('click', function () {
      var asc = th.getAttribute('aria-sort') !== 'ascending';
      t.querySelectorAll('th').forEach(function (h) { h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
      var body = t.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[i].textContent, y = b.cells[i].textContent, nx = parseFloat(x), ny = parseFloat(y);
        var c = !isNaN(nx) && !isNaN(ny) ? nx - ny : x.localeCompare(y);
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});`;

/** The summary table of one experiment as HTML. */
function tableHtml(path: string): string {
  if (!existsSync(path)) return '';
  const [head, ...rows] = readFileSync(path, 'utf8').trim().split('\n');
  const cells = (line: string, tag: string): string =>
    line
      .split(',')
      .map((c) => `<${tag}>${esc(c)}</${tag}>`)
      .join('');
  return `<details><summary>Table: summary.csv (click a column to sort)</summary><div class="scroll"><table class="sortable"><thead><tr>${cells(head!, 'th')}</tr></thead><tbody>${rows.map((r) => `<tr>${cells(r, 'td')}</tr>`).join('')}</tbody></table></div></details>`;
}
