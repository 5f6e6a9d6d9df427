/**
 * The dashboard in a real browser (Debian chromium via playwright-core) against a real stack: an
 * experiment with a planted effect for engaged users and a planted harm for casual ones runs three
 * cycles; the list and experiment pages load; the charts hold the report's own numbers (read from
 * the ECharts instances, not just a canvas); the "what if" panel and the running-window chart are
 * evaluated from the page (POST /evaluations) and chart the stored evaluation's numbers; the
 * experiment is paused from the page, audited.
 * Screenshots go to test-artifacts/ (git-ignored).
 */
import { mkdir } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { segmentsScenario } from '../../scripts/demo-scenarios.js';
import { driveTraffic } from '../../sim/traffic.js';
import { uniqueSuffix, waitFor } from '../helpers/services.js';
import { useStack } from '../helpers/stack.js';

const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url).pathname;
const stack = useStack();
const db = new pg.Client({ connectionString: stack.config.databaseUrl });
let browser: Browser;

beforeAll(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  await db.connect();
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
});
afterAll(async () => {
  await browser?.close();
  await db.end();
});

/** What a cycle that did not answer was waiting on: its pending activities and Postgres's waiting sessions. */
async function stuckCycle(key: string): Promise<string> {
  const connection = await Connection.connect({ address: stack.config.temporalAddress });
  const d = await new Client({ connection }).workflow.getHandle(`experiment-${key}`).describe().catch((e: Error) => e);
  await connection.close();
  const activities = d instanceof Error ? d.message : JSON.stringify(d.raw.pendingActivities?.map((a) => ({ type: a.activityType?.name, state: a.state, attempt: a.attempt, failure: a.lastFailure?.message })));
  const sessions = await db.query(
    `SELECT pid, application_name AS app, state, wait_event_type AS wait_type, wait_event AS wait, now() - xact_start AS xact_age, left(query, 160) AS query
     FROM pg_stat_activity WHERE state <> 'idle' AND pid <> pg_backend_pid() ORDER BY xact_start`,
  );
  return `pending activities: ${activities}\nsessions: ${JSON.stringify(sessions.rows, null, 1)}`;
}

describe('dashboard', () => {
  it('charts a running experiment with the report’s data and pauses it from the page', async () => {
    const key = `dash-${uniqueSuffix()}`;
    const exp = segmentsScenario.experiment as { config: Record<string, unknown> };
    const created = await stack.post('/experiments', {
      ...segmentsScenario.experiment,
      key,
      name: 'Onboarding flow (dashboard test)',
      owner: 'tests',
      config: { ...exp.config, cycleIntervalSeconds: 3600, minSamplePerArm: 50 },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const expId = created.body.id as string;

    // Engaged users (tenure ≥ 20) gain from new_flow, casual users lose: the planted harm.
    const persona = (i: number, rng: () => number) => {
      const p = segmentsScenario.persona!(i, rng);
      return { ...p, context: { ...p.context, tier: Number(p.context.tenure) >= 20 ? 'engaged' : 'casual' } };
    };
    let units = 0;
    for (let wave = 0; wave < 3; wave++) {
      const t = await driveTraffic({ apiUrl: stack.api.url, experiment: key, unitPrefix: `${key}-w${wave}`, count: 1200, effect: { base: 0.12, rates: segmentsScenario.rates }, persona, seed: 7 + wave });
      units += t.enrolled;
      await waitFor(async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM "Assignment" WHERE "experimentId" = $1', [expId])).rows[0]!.n === units, { what: 'ingestion', timeoutMs: 60_000 });
      const r = await stack.post(`/experiments/${key}/run-cycle`, { reason: 'test' });
      expect(r.status, r.status === 200 ? '' : `${JSON.stringify(r.body)}\n${await stuckCycle(key)}`).toBe(200);
    }

    const report = (await stack.get(`/experiments/${key}/report`)).body;
    // The workflow's first cycle runs at start, then one per run-cycle: every decision is in the report.
    const decisions = (await db.query<{ cycle: number }>('SELECT cycle FROM "Decision" WHERE "experimentId" = $1 ORDER BY cycle', [expId])).rows;
    expect(decisions.length).toBeGreaterThanOrEqual(3);
    expect(report.byCycle.map((c: { cycle: number }) => c.cycle)).toEqual(decisions.map((d) => d.cycle));
    expect(report.allocation.length).toBeGreaterThanOrEqual(4);
    const tier = report.breakdown.factors.find((f: { factor: string }) => f.factor === 'context.tier');
    const liftOf = (value: string) => tier.values.find((v: { value: string }) => v.value === value).arms.find((a: { arm: string }) => a.arm === 'new_flow').relative.estimate as number;
    // The planted harm shows in the breakdown: casual users do worse with new_flow, engaged better.
    expect(liftOf('casual')).toBeLessThan(0);
    expect(liftOf('engaged')).toBeGreaterThan(0);

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(`${stack.api.url}/dashboard/`);
    const row = page.locator(`tr[data-key="${key}"]`);
    await row.waitFor({ timeout: 20_000 });
    expect(await row.locator('td').nth(3).innerText()).toBe(String(decisions.at(-1)!.cycle));
    expect(await row.locator('a[href*="/workflows/experiment-"]').getAttribute('href')).toContain(`${stack.config.temporalUiUrl}/namespaces/default/workflows/experiment-${key}`);
    await page.screenshot({ path: `${ARTIFACTS}dashboard-list.png`, fullPage: true });

    await row.locator(`a[href="#/experiment/${key}"]`).click();
    await page.waitForFunction(() => {
      const el = document.getElementById('chart-lift');
      const c = el && (window as unknown as { echarts: { getInstanceByDom(e: Element): unknown } }).echarts.getInstanceByDom(el);
      return !!c;
    }, undefined, { timeout: 20_000 });
    const options = await page.evaluate(() => {
      const ec = (window as unknown as { echarts: { getInstanceByDom(e: Element): { getOption(): any } | undefined } }).echarts;
      const get = (id: string) => ec.getInstanceByDom(document.getElementById(id)!)?.getOption();
      return { lift: get('chart-lift'), allocation: get('chart-allocation'), srm: get('chart-srm'), tts: get('chart-tts'), cumulative: get('chart-cumulative') };
    });
    // The lift chart plots new_flow's always-valid relative lift of each decision.
    const lift = options.lift.series.find((s: { name: string }) => s.name === 'new_flow');
    const expectedLift = report.byCycle.map((c: any) => [c.cycle, c.arms.find((a: any) => a.arm === 'new_flow' && a.metric === 'activation')?.relative?.estimate ?? null]);
    expect(lift.data).toEqual(expectedLift);
    const lower = options.lift.series.find((s: { name: string }) => s.name === 'new_flow lower');
    expect(lower.data.map((p: [number, number]) => p[1])).toEqual(report.byCycle.map((c: any) => c.arms.find((a: any) => a.arm === 'new_flow' && a.metric === 'activation')?.relative?.ci[0] ?? null));
    // Allocation over versions, one point per published snapshot.
    const control = options.allocation.series.find((s: { name: string }) => s.name === 'seg 0 · control');
    expect(control.data.map((p: [number, number]) => p[0])).toEqual(report.allocation.map((c: { version: number }) => c.version));
    expect(control.data[0][1]).toBe(report.allocation[0].segments[0].weights.control);
    // Sample-ratio bars are the report's observed counts: every enrolled unit.
    expect(options.srm.series[0].data).toEqual(report.srm.current.observed);
    expect(options.srm.series[0].data.reduce((a: number, b: number) => a + b, 0)).toBe(units);
    expect(options.cumulative.xAxis[0].data).toEqual(report.overall.cumulative.map((d: { day: string }) => d.day));
    expect(options.tts.series.length).toBeGreaterThan(0);
    await page.screenshot({ path: `${ARTIFACTS}dashboard-experiment.png`, fullPage: true });

    // What if: off-policy estimates of the standard alternatives, asked for from the page.
    await page.click('#offline-actions button[data-eval=policy]');
    await page.waitForFunction(() => document.getElementById('offline-result')?.textContent === 'policy: done', undefined, { timeout: 60_000 });
    // Running window, with a window and step short enough for this test's traffic: a third of the
    // time since the experiment started, so there are several window ends however fast the run was.
    const third = Math.max(1, Math.floor((Date.now() - Date.parse(created.body.createdAt as string)) / 3000));
    await page.fill('#offline-actions input[name=window]', `${third}s`);
    await page.fill('#offline-actions input[name=step]', `${third}s`);
    await page.click('#offline-actions button[data-eval=window]');
    await page.waitForFunction(() => document.getElementById('offline-result')?.textContent === 'window: done', undefined, { timeout: 60_000 });
    const offline = (await stack.get(`/experiments/${key}/report`)).body.offline;
    expect(offline.running).toEqual([]);
    const policies = offline.policy.result.policies as Array<{ label: string; evaluation: { loggedMean: number; estimates: Array<{ estimator: string; value: number; ci: [number, number] }> } }>;
    expect(policies.map((p) => p.label)).toEqual(['current policy', 'uniform', 'always control', 'always new_flow']);
    const charts = await page.evaluate(() => {
      const ec = (window as unknown as { echarts: { getInstanceByDom(e: Element): { getOption(): any } | undefined } }).echarts;
      const get = (id: string) => ec.getInstanceByDom(document.getElementById(id)!)?.getOption();
      return { whatif: get('chart-whatif'), window: get('chart-window'), table: document.querySelectorAll('#whatif-table tbody tr').length };
    });
    const est = (p: (typeof policies)[number], name: string) => p.evaluation.estimates.find((e) => e.estimator === name)!;
    expect(charts.whatif.xAxis[0].data).toEqual(policies.map((p) => p.label));
    expect(charts.whatif.series.find((x: { name: string }) => x.name === 'DR').data).toEqual(policies.map((p) => est(p, 'dr').value));
    expect(charts.whatif.series.find((x: { name: string }) => x.name === 'IPS').data).toEqual(policies.map((p) => est(p, 'ips').value));
    expect(charts.whatif.series.find((x: { name: string }) => x.name === 'DR 95% CI').data.map((d: number[]) => [d[0], d[1]])).toEqual(policies.map((p) => est(p, 'dr').ci));
    expect(charts.table).toBe(policies.length);
    // The policy that ran, weighted by its own propensities, earns exactly what was logged.
    expect(est(policies[0]!, 'ips').value).toBeCloseTo(policies[0]!.evaluation.loggedMean, 10);
    expect(charts.whatif.series.find((x: { name: string }) => x.name === 'IPS').markLine.data[0].yAxis).toBe(policies[0]!.evaluation.loggedMean);
    const rows = (offline.window.result.rows as Array<{ windowEnd: string; segment: number | null; arm: string; metric: string; estimate: number | null }>).filter((w) => w.segment === null && w.metric === 'activation' && w.arm === 'new_flow');
    expect(rows.length).toBeGreaterThan(1);
    const label = (t: string) => new Date(t).toISOString().slice(0, 19).replace('T', ' ');
    expect(charts.window.xAxis[0].data).toEqual(rows.map((w) => label(w.windowEnd)).sort());
    expect(charts.window.series.find((x: { name: string }) => x.name === 'new_flow').data).toEqual([...rows].sort((a, b) => a.windowEnd.localeCompare(b.windowEnd)).map((w) => [label(w.windowEnd), w.estimate]));
    await page.screenshot({ path: `${ARTIFACTS}dashboard-what-if.png`, fullPage: true });

    // Pause from the page, with a reason; it goes through POST /experiments/:key/pause and is audited.
    await page.fill('#actions input[name=reason]', 'checking the casual segment');
    await page.click('#actions button[data-action=pause]');
    await page.waitForFunction(() => document.getElementById('action-result')?.textContent === 'pause: accepted', undefined, { timeout: 20_000 });
    await waitFor(async () => (await stack.get(`/experiments/${key}`)).body.status === 'paused', { what: 'paused', timeoutMs: 30_000 });
    const audit = await db.query<{ actor: string; reason: string }>(`SELECT actor, reason FROM "AuditLog" WHERE target = $1 AND action = 'experiment.paused'`, [key]);
    expect(audit.rows).toEqual([{ actor: 'local (on behalf of dashboard)', reason: 'checking the casual segment' }]);
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'paused', undefined, { timeout: 20_000 });
    await page.screenshot({ path: `${ARTIFACTS}dashboard-paused.png`, fullPage: true });
    await page.close();
  }, 300_000);
});
