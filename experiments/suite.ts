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

/** A static page with every experiment's answer and plots. */
export function indexHtml(out: string, names: readonly string[]): string {
  const sections = names.map((n) => {
    const md = readFileSync(join(out, n, 'summary.md'), 'utf8');
    const title = md.split('\n')[0]!.replace(/^# /, '');
    const svgs = [...md.matchAll(/([a-z0-9-]+)\.svg/g)].map((m) => m[1]!);
    const body = md
      .split('\n')
      .filter((l) => l.startsWith('- ') || l.startsWith('**Question'))
      .map((l) => (l.startsWith('- ') ? `<li>${esc(l.slice(2))}</li>` : `<p>${esc(l.replace(/\*\*/g, ''))}</p>`))
      .join('\n');
    const csvTable = tableHtml(join(out, n, 'summary.csv'));
    return `<section><h2>${esc(title)}</h2>${body.replace(/(<li>[\s\S]*<\/li>)/, '<ul>$1</ul>')}${svgs.map((s) => `<p><img src="${n}/${s}.svg" alt="${esc(n)} ${s}"></p>`).join('')}${csvTable}<p><a href="${n}/results.csv">results.csv</a> · <a href="${n}/summary.csv">summary.csv</a> · <a href="${n}/params.json">params.json</a></p></section>`;
  });
  return `<!doctype html><html><head><meta charset="utf-8"><title>nfct-sim results</title><style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}img{max-width:100%}</style></head><body><h1>nfct-sim results</h1>${sections.join('\n')}</body></html>\n`;
}

/** The summary table of one experiment as HTML. */
function tableHtml(path: string): string {
  if (!existsSync(path)) return '';
  const [head, ...rows] = readFileSync(path, 'utf8').trim().split('\n');
  const cells = (line: string, tag: string): string =>
    line
      .split(',')
      .map((c) => `<${tag}>${esc(c)}</${tag}>`)
      .join('');
  return `<details><summary>summary.csv</summary><table border="1" cellspacing="0" cellpadding="3"><tr>${cells(head!, 'th')}</tr>${rows.map((r) => `<tr>${cells(r, 'td')}</tr>`).join('')}</table></details>`;
}
