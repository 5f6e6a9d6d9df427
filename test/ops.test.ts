/**
 * The monitoring files: Prometheus alert rules and scrape config pass `promtool check` (Debian's
 * prometheus package, installed by scripts/test.sh), the Grafana dashboard parses, and every expflow
 * metric either of them uses is one the API or the worker actually exports. The Compose file runs
 * Prometheus and Grafana at pinned versions, provisioned with both files.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createApiMetrics, createWorkerMetrics } from '../infra/metrics.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const rulesPath = join(root, 'ops/prometheus/alerts.yml');
const grafana = JSON.parse(readFileSync(join(root, 'ops/grafana/expflow.json'), 'utf8')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }>; templating: { list: Array<{ definition: string }> } };

/** Every series name the processes export (histograms add _bucket, _sum and _count). */
async function exportedNames(): Promise<Set<string>> {
  const names = new Set<string>();
  const api = createApiMetrics({ snapshots: () => [] });
  const worker = createWorkerMetrics({ queueDepth: async () => [] });
  for (const m of [...(await api.registry.getMetricsAsJSON()), ...(await worker.registry.getMetricsAsJSON())]) {
    names.add(m.name);
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${m.name}${s}`);
  }
  return names;
}

const used = (exprs: string[]) => [...new Set(exprs.flatMap((e) => e.match(/expflow_[a-z_]+/g) ?? []))];

describe('monitoring files', () => {
  it('alert rules and scrape config pass promtool', () => {
    expect(spawnSync('promtool', ['--version']).status, 'promtool missing: scripts/test.sh installs Debian prometheus').toBe(0);
    expect(execFileSync('promtool', ['check', 'rules', rulesPath], { encoding: 'utf8' })).toContain('SUCCESS: 9 rules found');
    // The config names the rules at their path inside the container; check it against the repo's file.
    const dir = mkdtempSync(join(tmpdir(), 'expflow-prom-'));
    const config = readFileSync(join(root, 'ops/prometheus/prometheus.yml'), 'utf8').replace('/etc/prometheus/alerts.yml', rulesPath);
    writeFileSync(join(dir, 'prometheus.yml'), config);
    expect(spawnSync('promtool', ['check', 'config', join(dir, 'prometheus.yml')], { encoding: 'utf8' }).status).toBe(0);
  });

  it('use only metrics the API and the worker export', async () => {
    const names = await exportedNames();
    const ruleExprs = [...readFileSync(rulesPath, 'utf8').matchAll(/expr: (.*)/g)].map((m) => m[1]!);
    const panelExprs = grafana.panels.flatMap((p) => p.targets.map((t) => t.expr));
    expect(grafana.panels.length).toBeGreaterThanOrEqual(10);
    for (const name of used([...ruleExprs, ...panelExprs, ...grafana.templating.list.map((v) => v.definition)])) expect(names, name).toContain(name);
    // Every metric the issue names has a panel.
    for (const m of ['expflow_assignments_total', 'expflow_ingest_lag_seconds_bucket', 'expflow_queue_jobs', 'expflow_activity_duration_seconds_bucket', 'expflow_decisions_total', 'expflow_notifications_total', 'expflow_http_request_duration_seconds_bucket', 'expflow_snapshot_version', 'expflow_snapshot_age_seconds']) {
      expect(used(panelExprs)).toContain(m);
    }
  });
});

const hasDocker = spawnSync('docker', ['--version']).status === 0;
describe.skipIf(!hasDocker)('docker-compose monitoring services', () => {
  it('runs pinned Prometheus and Grafana provisioned with the repo files', () => {
    const plugin = spawnSync('docker', ['compose', 'config'], { cwd: root, encoding: 'utf8' });
    const out = plugin.status === 0 ? plugin.stdout : execFileSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], { cwd: root, encoding: 'utf8' });
    expect(out).toMatch(/image: prom\/prometheus:v\d+\.\d+\.\d+/);
    expect(out).toMatch(/image: grafana\/grafana:\d+\.\d+\.\d+/);
    for (const f of ['ops/prometheus/prometheus.yml', 'ops/prometheus/alerts.yml', 'ops/grafana/provisioning', 'ops/grafana/expflow.json']) {
      expect(existsSync(join(root, f))).toBe(true);
      expect(out).toContain(join(root, f));
    }
    expect(out).toContain('WORKER_METRICS_HOST: 0.0.0.0');
  });
});
