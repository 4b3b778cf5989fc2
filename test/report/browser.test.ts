// The report as people see it: results/index.html opened in a real headless Chromium (Debian's
// chromium, driven by puppeteer-core; nothing is downloaded). No console errors, every plot
// rendered with axes and data marks, every link resolving to a file of the folder, the tables
// sortable, the glossary there; a screenshot kept in test-artifacts/report.png.
import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runExperiment } from '../../experiments/lib/runner.js';
import { REGISTRY } from '../../experiments/registry.js';
import { writeReport } from '../../experiments/suite.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

(CHROMIUM ? test.serial : test.skip)(
  'the report renders in Chromium: plots with axes and data, links, sorting, no errors',
  async (t) => {
    const out = mkdtempSync(join(tmpdir(), 'nfct-report-'));
    const small: [string, unknown][] = [
      ['workloads.0.flows', 200],
      ['workloads.0.rateHz', 400],
      ['durationS', 20],
    ];
    for (const name of ['flush', 'retry-delay'])
      await runExperiment(REGISTRY, name, {
        seed: 1,
        runs: 2,
        jobs: 1,
        out: join(out, name),
        quick: true,
        sets: name === 'flush' ? small : [],
        resume: false,
      });
    const page = writeReport(out);
    const { default: puppeteer } = await import('puppeteer-core');
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM!,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--allow-file-access-from-files'],
    });
    try {
      const tab = await browser.newPage();
      const errors: string[] = [];
      tab.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
      tab.on('pageerror', (e) => void errors.push(String(e)));
      await tab.setViewport({ width: 1100, height: 900 });
      await tab.goto(pathToFileURL(page).href, { waitUntil: 'load' });
      t.deepEqual(errors, []);
      // Every plot: an inline SVG with at least one axis (with tick labels) and data marks.
      const plots = await tab.$$eval('figure.plot', (fs) =>
        fs.map((f) => ({
          name: f.getAttribute('data-plot'),
          axes: f.querySelectorAll('.role-axis').length,
          ticks: f.querySelectorAll('.role-axis-label text').length,
          marks: f.querySelectorAll(
            '.role-mark path, .role-mark line, .role-mark rect, .role-mark circle, .role-mark symbol, .role-mark > path',
          ).length,
          width: f.querySelector('svg')?.getBoundingClientRect().width ?? 0,
        })),
      );
      t.true(plots.length >= 2, `${plots.length} plots`);
      for (const p of plots) {
        t.true(p.axes >= 2, `${p.name}: axes`);
        t.true(p.ticks > 2, `${p.name}: tick labels`);
        t.true(p.marks > 0, `${p.name}: data marks`);
        t.true(p.width > 200, `${p.name}: drawn ${p.width} px wide`);
      }
      // Every link points at a file of the folder that exists (or an anchor of the page).
      const links = await tab.$$eval('a', (as) => as.map((a) => a.getAttribute('href')!));
      t.true(links.length > 10);
      for (const href of links) {
        if (href.startsWith('#')) t.true((await tab.$(href)) !== null, href);
        else t.true(existsSync(join(out, href)), href);
      }
      t.true(
        links.some((h) => h.endsWith('-data.csv')),
        'plots link their data',
      );
      // The glossary says once what the words mean.
      const text = await tab.$eval('body', (b) => b.textContent ?? '');
      t.regex(text, /parked/);
      t.regex(text, /95 % confidence interval/);
      // Sorting: a click on a numeric column orders its cells.
      await tab.$eval('details:has(table.sortable)', (d) => ((d as unknown as { open: boolean }).open = true));
      const col = await tab.$$eval('table.sortable', (ts) => {
        const t0 = ts[0]!;
        const heads = [...t0.querySelectorAll('th')];
        const i = heads.findIndex((h, j) =>
          [...t0.tBodies[0]!.rows].every((r) => !isNaN(parseFloat(r.cells[j]!.textContent!))),
        );
        return i;
      });
      t.true(col >= 0);
      await tab.click(`table.sortable th:nth-child(${col + 1})`);
      await tab.click(`table.sortable th:nth-child(${col + 1})`);
      const values = await tab.$$eval(`table.sortable tbody tr td:nth-child(${col + 1})`, (tds) =>
        tds.map((td) => parseFloat(td.textContent!)),
      );
      t.true(
        values.every((v, i) => i === 0 || v <= values[i - 1]!),
        'second click sorts descending',
      );
      mkdirSync(ARTIFACTS, { recursive: true });
      await tab.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
      t.true(existsSync(join(ARTIFACTS, 'report.png')));
    } finally {
      await browser.close();
    }
  },
);
if (!CHROMIUM)
  test('browser check skipped', (t) => t.pass('skipped: chromium is not installed (apt-get install chromium)'));
