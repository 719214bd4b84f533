/**
 * docs/grafana-dashboard.json must work on the metrics the proxy exposes:
 * every query parses as PromQL (promtool checks them as recording rules)
 * and names only metric families a scrape of dnsdist-ts contains.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpRequest } from './http-client.js';
import { parsePrometheusText } from './prometheus-text-parser.js';
import { startWebProxy, type RunningWebProxy } from './web-harness.js';

const DASHBOARD = fileURLToPath(new URL('../../../../docs/grafana-dashboard.json', import.meta.url));

interface Panel {
  type: string;
  title: string;
  targets?: Array<{ expr: string }>;
}

function queries(): Array<{ panel: string; expr: string }> {
  const doc = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] };
  return doc.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
}

/** The query as Prometheus would receive it from Grafana. */
function substitute(expr: string): string {
  return expr.replaceAll('$__rate_interval', '1m').replaceAll('$instance', '.*');
}

describe('the Grafana dashboard', () => {
  let p: RunningWebProxy;
  beforeAll(async () => {
    p = await startWebProxy('webserver("127.0.0.1:0")\nsetWebserverConfig({apiKey="k"})');
  });
  afterAll(() => p.stop());

  it('queries only metric families that dnsdist-ts exposes', async () => {
    const families = parsePrometheusText((await httpRequest(p.web, '/metrics', { apiKey: 'k' })).body);
    const list = queries();
    expect(list.length).toBeGreaterThan(20);
    for (const { panel, expr } of list) {
      for (const [name] of expr.matchAll(/\bdnsdist_[a-z0-9_]+/g)) {
        const family = name.replace(/_(bucket|sum|count)$/, '');
        expect({ panel, name, exposed: families.has(family) || families.has(name) }).toEqual({ panel, name, exposed: true });
      }
    }
  });

  it('has queries that parse as PromQL (promtool check rules)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dts-grafana-'));
    try {
      const rules = queries()
        .map(({ expr }, i) => `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(substitute(expr))}`)
        .join('\n');
      const file = join(dir, 'rules.yml');
      writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules}\n`);
      const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
      if (r.error) throw new Error('promtool is not installed: apt-get install prometheus');
      expect({ status: r.status, out: r.stdout + r.stderr }).toEqual({ status: 0, out: expect.stringContaining('SUCCESS') });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
