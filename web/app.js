// expflow dashboard: plain ES module, no build step. Reads the report API, charts with ECharts
// (served from node_modules by the API), polls for live updates, and acts through the same audited
// control-plane routes as the CLI.
/* global echarts */

const POLL_MS = 5000;
const app = document.getElementById('app');
const live = document.getElementById('live');
let timer = null;
let config = { temporalUiUrl: '', namespace: 'default' };

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const fmt = (x, d = 3) => (typeof x === 'number' && Number.isFinite(x) ? Number(x.toPrecision(d)).toString() : '–');
const pct = (x) => (typeof x === 'number' && Number.isFinite(x) ? `${(100 * x).toFixed(2)}%` : '–');
const when = (t) => (t ? new Date(t).toLocaleString() : '–');

function headers() {
  const h = { 'content-type': 'application/json' };
  const token = localStorage.getItem('expflowToken');
  if (token) h.authorization = `Bearer ${token}`;
  return h;
}

async function api(path, opts = {}) {
  const res = await fetch(path, { ...opts, headers: headers() });
  if (res.status === 401) {
    const token = prompt('API token');
    if (token) {
      localStorage.setItem('expflowToken', token);
      return api(path, opts);
    }
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
  return body;
}

/** One ECharts instance per element id, kept across polls so updates do not flicker. */
function chart(id, option) {
  const el = document.getElementById(id);
  if (!el) return null;
  const c = echarts.getInstanceByDom(el) ?? echarts.init(el);
  c.setOption(option, true);
  return c;
}

function poll(fn) {
  clearInterval(timer);
  const tick = async () => {
    try {
      await fn();
      live.classList.remove('stale');
      live.title = `updated ${new Date().toLocaleTimeString()}`;
    } catch (e) {
      live.classList.add('stale');
      live.title = `update failed: ${e.message}`;
    }
  };
  tick();
  timer = setInterval(tick, POLL_MS);
}

function temporalLink(workflowUrl) {
  return workflowUrl ? `<a href="${esc(workflowUrl)}" target="_blank" rel="noopener">Temporal ↗</a>` : '';
}

// ---------------------------------------------------------------- experiment list

async function renderList() {
  app.innerHTML = `<h1>Experiments</h1><div id="system-alarms"></div><table id="experiments"><thead><tr>
    <th>Experiment</th><th>Status</th><th>Kind</th><th class="num">Cycle</th><th>Last decision</th><th>Alarms</th><th>Snapshot</th><th>Workflow</th></tr></thead><tbody></tbody></table>`;
  poll(async () => {
    const data = await api('/reports/experiments');
    const rows = data.experiments.map((e) => `<tr data-key="${esc(e.key)}">
      <td><a href="#/experiment/${encodeURIComponent(e.key)}">${esc(e.key)}</a><div class="muted">${esc(e.name)}</div></td>
      <td><span class="pill ${esc(e.status)}">${esc(e.status)}</span></td>
      <td>${esc(e.kind)}${e.entity ? `<div class="muted"><a href="#/entity/${encodeURIComponent(e.entity)}">${esc(e.entity)}</a></div>` : ''}</td>
      <td class="num">${e.cycle}</td>
      <td>${e.lastDecision ? `<span class="pill ${esc(e.lastDecision.outcome)}">${esc(e.lastDecision.outcome)}</span><div class="muted">${esc(e.lastDecision.rationale).slice(0, 160)}</div>` : '<span class="muted">none yet</span>'}</td>
      <td>${e.alarms.length ? e.alarms.map((a) => `<div class="alarm" title="${esc(a.message)}">${esc(a.kind)}</div>`).join('') : '<span class="muted">–</span>'}</td>
      <td>${e.snapshot ? `v${e.snapshot.version}<div class="muted">${when(e.snapshot.at)}</div>` : '–'}</td>
      <td>${temporalLink(e.workflowUrl)}</td></tr>`);
    document.querySelector('#experiments tbody').innerHTML = rows.join('') || '<tr><td colspan="8" class="muted">No experiments yet.</td></tr>';
    document.getElementById('system-alarms').innerHTML = data.systemAlarms.map((a) => `<div class="banner bad">${esc(a.kind)}: ${esc(a.message)}</div>`).join('');
  });
}

// ---------------------------------------------------------------- experiment page

function actionsBar(r) {
  const arms = r.experiment.variants.map((v) => v.key);
  return `<form class="actions" id="actions" onsubmit="return false">
    <input name="reason" placeholder="reason (required, audited)" aria-label="reason">
    <button data-action="pause">Pause</button>
    <button data-action="resume">Resume</button>
    <button data-action="stop">Stop</button>
    <select name="winner" aria-label="winner"><option value="">conclude: no winner</option>${arms.map((a) => `<option>${esc(a)}</option>`).join('')}</select>
    <button data-action="conclude">Conclude</button>
    <input name="weights" placeholder='override e.g. {"${esc(arms[0])}":0.5,…}' aria-label="override weights" size="28">
    <button data-action="override">Override</button>
    <button data-action="clear-override">Clear override</button>
    <span id="action-result" class="muted"></span>
  </form>`;
}

async function act(key, action, form) {
  const reason = form.reason.value.trim();
  const out = document.getElementById('action-result');
  if (!reason) {
    out.textContent = 'a reason is required';
    out.className = 'alarm';
    return;
  }
  const body = { reason, actor: 'dashboard' };
  let path = `/experiments/${encodeURIComponent(key)}/${action}`;
  if (action === 'conclude' && form.winner.value) body.winner = form.winner.value;
  if (action === 'override' || action === 'clear-override') {
    path = `/experiments/${encodeURIComponent(key)}/allocation`;
    if (action === 'clear-override') body.clear = true;
    else {
      try {
        body.weights = JSON.parse(form.weights.value);
      } catch {
        out.textContent = 'weights: not valid JSON';
        out.className = 'alarm';
        return;
      }
    }
  }
  try {
    await api(path, { method: 'POST', body: JSON.stringify(body) });
    out.textContent = `${action}: accepted`;
    out.className = 'better';
  } catch (e) {
    out.textContent = `${action}: ${e.message}`;
    out.className = 'alarm';
  }
}

const primaryOf = (r) => r.experiment.metrics.find((m) => m.role === 'primary') ?? r.experiment.metrics[0];

function bandSeries(name, points, color) {
  // Interval as a stacked band: an invisible lower line and the width stacked on it.
  return [
    { name: `${name} lower`, type: 'line', data: points.map((p) => [p.x, p.lo]), stack: name, lineStyle: { opacity: 0 }, symbol: 'none', tooltip: { show: false } },
    { name: `${name} interval`, type: 'line', data: points.map((p) => [p.x, p.hi === null || p.lo === null ? null : p.hi - p.lo]), stack: name, lineStyle: { opacity: 0 }, symbol: 'none', areaStyle: { opacity: 0.15, color }, tooltip: { show: false } },
    { name, type: 'line', data: points.map((p) => [p.x, p.y]), symbolSize: 5, color },
  ];
}

const palette = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2'];

function liftPoints(rows, arm, metric, x) {
  return rows.map((row) => {
    const a = row.arms.find((z) => z.arm === arm && z.metric === metric);
    const rel = a?.relative;
    return { x: x(row), y: rel ? rel.estimate : null, lo: rel ? rel.ci[0] : null, hi: rel ? rel.ci[1] : null };
  });
}

function renderReportCharts(r) {
  const primary = primaryOf(r);
  const arms = r.experiment.variants.filter((v) => v.key !== r.experiment.control).map((v) => v.key);
  const axisPct = { type: 'value', axisLabel: { formatter: (v) => `${(100 * v).toFixed(1)}%` } };
  chart('chart-lift', {
    title: { text: `Lift on ${primary.key} per cycle (always-valid)`, textStyle: { fontSize: 13 } },
    tooltip: { trigger: 'axis' },
    legend: { bottom: 0, data: arms },
    xAxis: { type: 'value', name: 'cycle', minInterval: 1 },
    yAxis: axisPct,
    series: arms.flatMap((arm, i) => bandSeries(arm, liftPoints(r.byCycle, arm, primary.key, (row) => row.cycle), palette[(i + 1) % palette.length])),
  });
  chart('chart-cumulative', {
    title: { text: `Cumulative lift on ${primary.key} by day of exposure`, textStyle: { fontSize: 13 } },
    tooltip: { trigger: 'axis' },
    legend: { bottom: 0, data: arms },
    xAxis: { type: 'category', data: r.overall.cumulative.map((d) => d.day) },
    yAxis: axisPct,
    series: arms.flatMap((arm, i) => bandSeries(arm, liftPoints(r.overall.cumulative, arm, primary.key, (d) => d.day), palette[(i + 1) % palette.length])),
  });
  chart('chart-daily', {
    title: { text: `${primary.key} per day, by arm`, textStyle: { fontSize: 13 } },
    tooltip: { trigger: 'axis' },
    legend: { bottom: 0 },
    xAxis: { type: 'category', data: r.overall.daily.map((d) => d.day) },
    yAxis: { type: 'value' },
    series: r.experiment.variants.map((v, i) => ({
      name: v.key,
      type: 'bar',
      color: palette[i % palette.length],
      data: r.overall.daily.map((d) => d.means.find((m) => m.arm === v.key && m.metric === primary.key)?.mean ?? null),
    })),
  });
  // Allocation: every arm's weight in every segment over snapshot versions (a segment absent from
  // a version has no point there), coverage dashed; the tooltip gives each version's reasons.
  const segIds = [...new Set(r.allocation.flatMap((c) => c.segments.map((s) => s.id)))].sort((a, b) => a - b);
  const reasonAt = new Map(r.allocation.map((c) => [c.version, c]));
  chart('chart-allocation', {
    title: { text: 'Allocation over time by segment, with reasons', textStyle: { fontSize: 13 } },
    tooltip: {
      trigger: 'axis',
      formatter: (ps) => {
        const c = reasonAt.get(Number(ps[0]?.axisValue));
        const lines = ps.filter((p) => p.value[1] !== null).map((p) => `${p.marker}${p.seriesName}: ${fmt(p.value[1])}`);
        return `v${ps[0]?.axisValue} · ${c ? esc(c.kinds.join(', ')) : ''}<br>${lines.join('<br>')}<br><span style="white-space:normal">${c ? esc(c.reason).slice(0, 200) : ''}</span>`;
      },
    },
    legend: { bottom: 0, type: 'scroll' },
    xAxis: { type: 'value', name: 'version', minInterval: 1 },
    yAxis: { type: 'value', min: 0, max: 1 },
    series: segIds.flatMap((seg, j) => [
      ...r.experiment.variants.map((v, i) => ({
        name: `seg ${seg} · ${v.key}`,
        type: 'line',
        step: 'end',
        color: palette[(i + j * r.experiment.variants.length) % palette.length],
        data: r.allocation.map((c) => [c.version, c.segments.find((s) => s.id === seg)?.weights[v.key] ?? null]),
      })),
      { name: `seg ${seg} · coverage`, type: 'line', step: 'end', lineStyle: { type: 'dashed' }, color: '#64748b', data: r.allocation.map((c) => [c.version, c.segments.find((s) => s.id === seg)?.coverage ?? null]) },
    ]),
  });
  const srm = r.srm.current;
  chart('chart-srm', {
    title: { text: `Sample ratio: observed vs expected (p=${fmt(srm.pValue)})`, textStyle: { fontSize: 13 } },
    tooltip: { trigger: 'axis' },
    legend: { bottom: 0 },
    xAxis: { type: 'category', data: srm.arms },
    yAxis: { type: 'value' },
    series: [
      { name: 'observed', type: 'bar', data: srm.observed },
      { name: 'expected', type: 'bar', data: srm.expected.map((x) => Math.round(x)) },
    ],
  });
  chart('chart-tts', {
    title: { text: 'Predicted vs realised time to significance', textStyle: { fontSize: 13 } },
    tooltip: { trigger: 'axis' },
    legend: { bottom: 0 },
    xAxis: { type: 'value', name: 'cycle of prediction', minInterval: 1 },
    yAxis: { type: 'value', name: 'predicted cycle' },
    series: r.timeToSignificance.flatMap((s, i) => [
      // Predictions beyond any useful horizon would flatten the chart; the table lists them.
      { name: `segment ${s.segment}`, type: 'line', color: palette[i % palette.length], data: s.predictions.map((p) => [p.cycle, p.predictedCycle !== null && p.predictedCycle < 10_000 ? p.predictedCycle : null]) },
      ...(s.realisedCycle === null ? [] : [{ name: `segment ${s.segment} realised`, type: 'line', color: palette[i % palette.length], lineStyle: { type: 'dashed' }, symbol: 'none', data: s.predictions.map((p) => [p.cycle, s.realisedCycle]) }]),
    ]),
  });
  const hour = r.breakdown.factors.find((f) => f.factor === 'hour');
  chart('chart-breakdown', {
    title: { text: `Lift on ${primary.key} by hour of exposure`, textStyle: { fontSize: 13 } },
    tooltip: { trigger: 'axis' },
    legend: { bottom: 0, data: arms },
    xAxis: { type: 'category', data: (hour?.values ?? []).map((v) => v.value) },
    yAxis: axisPct,
    series: arms.map((arm, i) => ({
      name: arm,
      type: 'bar',
      color: palette[(i + 1) % palette.length],
      data: (hour?.values ?? []).map((v) => v.arms.find((a) => a.arm === arm && a.metric === primary.key)?.relative?.estimate ?? null),
    })),
  });
}

function estimatesTable(rows, primaryKey) {
  return `<table><thead><tr><th>Arm</th><th>Metric</th><th class="num">n (ctl / trt)</th><th class="num">Control</th><th class="num">Treatment</th><th class="num">Lift</th><th>Always-valid interval</th><th class="num">p</th></tr></thead><tbody>${rows
    .map((a) => `<tr><td>${esc(a.arm)}</td><td>${esc(a.metric)}${a.metric === primaryKey ? ' ★' : ''}</td><td class="num">${a.controlN} / ${a.treatmentN}</td><td class="num">${fmt(a.controlMean)}</td><td class="num">${fmt(a.treatmentMean)}</td>
      <td class="num">${a.relative ? pct(a.relative.estimate) : fmt(a.estimate)}</td><td>${a.relative ? `${pct(a.relative.ci[0])} … ${pct(a.relative.ci[1])}` : a.ci ? `${fmt(a.ci[0])} … ${fmt(a.ci[1])}` : '–'}</td><td class="num">${fmt(a.adjustedP ?? a.pValue)}</td></tr>`)
    .join('')}</tbody></table>`;
}

function renderReportTables(r) {
  const primary = primaryOf(r);
  const latest = r.byCycle.at(-1);
  const set = (id, html) => {
    const el = document.getElementById(id);
    if (el) el.innerHTML = html;
  };
  set('srm-banner', r.srm.current.alarm || r.decisions.at(-1)?.srmAlarm ? `<div class="banner bad">Sample-ratio mismatch: p=${fmt(r.srm.current.pValue)} — results cannot be trusted and the experiment will not ship.</div>` : `<div class="banner ok">Sample ratio OK (p=${fmt(r.srm.current.pValue)})</div>`);
  set('alerts', r.alerts.length ? r.alerts.map((a) => `<div class="banner ${a.resolvedAt ? 'ok' : 'bad'}">${esc(a.kind)} · ${esc(a.message)} <span class="muted">${when(a.firedAt)}${a.resolvedAt ? ` · resolved ${when(a.resolvedAt)}` : ''}</span></div>`).join('') : '');
  set('results', latest ? estimatesTable(latest.arms, primary.key) : '<p class="muted">No decision yet.</p>');
  set('segments', `<table><thead><tr><th>Segment</th><th class="num">Units</th><th>Status</th><th class="num">Coverage</th><th>Weights</th><th>Latest lift (${esc(primary.key)})</th><th>Conclusion</th></tr></thead><tbody>${r.segments
    .map((s) => {
      const last = s.cumulative.at(-1);
      const lifts = (last?.arms ?? []).filter((a) => a.metric === primary.key).map((a) => `${esc(a.arm)} ${a.relative ? `${pct(a.relative.estimate)} [${pct(a.relative.ci[0])}, ${pct(a.relative.ci[1])}]` : '–'}`).join('<br>');
      const concl = s.decisions.filter((d) => d.outcome !== 'none').at(-1);
      return `<tr data-segment="${s.id}"><td>${s.id}</td><td class="num">${s.units}</td><td>${esc(s.latest?.status ?? '–')}</td><td class="num">${s.latest ? pct(s.latest.coverage) : '–'}</td><td>${s.latest ? esc(Object.entries(s.latest.weights).map(([k, v]) => `${k} ${fmt(v, 2)}`).join(', ')) : '–'}</td><td>${lifts}</td><td>${concl ? `<span class="${concl.outcome === 'harm' ? 'worse' : 'better'}">${esc(concl.reason)}</span>` : '<span class="muted">–</span>'}</td></tr>`;
    })
    .join('')}</tbody></table>`);
  set('allocation', `<table><thead><tr><th class="num">Version</th><th class="num">Cycle</th><th>When</th><th>Why</th><th>By</th><th>Reason</th></tr></thead><tbody>${[...r.allocation]
    .reverse()
    .slice(0, 60)
    .map((c) => `<tr><td class="num">${c.version}</td><td class="num">${c.cycle}</td><td>${when(c.at)}</td><td>${c.kinds.map((k) => `<span class="pill">${esc(k)}</span>`).join(' ')}</td><td>${esc(c.actor ?? '')}</td><td>${esc(c.reason)}</td></tr>`)
    .join('')}</tbody></table>`);
  set('decisions', `<table><thead><tr><th class="num">Cycle</th><th>When</th><th>Outcome</th><th>Rationale</th></tr></thead><tbody>${[...r.decisions]
    .reverse()
    .map((d) => `<tr><td class="num">${d.cycle}</td><td>${when(d.at)}</td><td><span class="pill ${esc(d.outcome)}">${esc(d.outcome)}</span>${d.srmAlarm ? ' <span class="alarm">SRM</span>' : ''}</td><td>${esc(d.rationale)}</td></tr>`)
    .join('')}</tbody></table>`);
  const g = r.guardrails.at(-1);
  set('guardrails', g && g.results.length ? estimatesTable(g.results, '') : '<p class="muted">No guardrail metrics.</p>');
  set('srm-periods', `<table><thead><tr><th class="num">Period (snapshot)</th><th class="num">Segment</th><th>Weights</th><th>Expected</th><th>Observed</th></tr></thead><tbody>${r.srm.current.periods
    .map((p) => `<tr><td class="num">${p.period}</td><td class="num">${p.segment}${p.propensityStratum !== undefined ? ` · q=${fmt(p.propensityStratum)}` : ''}</td><td>${p.weights ? p.weights.map((w) => fmt(w, 2)).join(' / ') : '–'}</td><td>${p.expected ? p.expected.map((x) => Math.round(x)).join(' / ') : '–'}</td><td>${p.observed.join(' / ')}</td></tr>`)
    .join('')}</tbody></table>`);
  set('breakdown', r.breakdown.factors
    .map((f) => `<h3>${esc(f.factor)}${f.folded ? ` <span class="muted">(${f.folded} values pooled as "(other)")</span>` : ''}</h3><table><thead><tr><th>Value</th><th class="num">Units</th><th>Lift on ${esc(primary.key)} (always-valid, per value)</th></tr></thead><tbody>${f.values
      .map((v) => `<tr><td>${esc(v.value)}</td><td class="num">${v.units}</td><td>${v.arms
        .filter((a) => a.metric === primary.key)
        .map((a) => {
          const s = v.signal.find((x) => x.arm === a.arm);
          return `<span class="${s ? s.direction : ''}">${esc(a.arm)} ${a.relative ? `${pct(a.relative.estimate)} [${pct(a.relative.ci[0])}, ${pct(a.relative.ci[1])}]` : '–'}</span>`;
        })
        .join('<br>')}</td></tr>`)
      .join('')}</tbody></table>`)
    .join('') + (r.breakdown.skipped.length ? `<p class="muted">Not broken down (too many values): ${esc(r.breakdown.skipped.join(', '))}</p>` : ''));
  set('tts', `<table><thead><tr><th>Segment</th><th>Realised at cycle</th><th>Latest prediction</th><th>Prediction errors (cycles)</th></tr></thead><tbody>${r.timeToSignificance
    .map((s) => {
      const p = s.predictions.at(-1);
      return `<tr><td>${s.segment}</td><td>${s.realisedCycle ?? '<span class="muted">not yet</span>'}</td><td>${p ? (p.capped ? 'beyond the horizon' : `cycle ${fmt(p.predictedCycle)} (made at ${p.cycle}, ${esc(p.source)})`) : '–'}</td><td>${s.errors.map((e) => `${e.cycle}: ${e.error > 0 ? '+' : ''}${fmt(e.error, 2)}`).join(', ') || '–'}</td></tr>`;
    })
    .join('')}</tbody></table>`);
}

async function renderExperiment(key) {
  const first = await api(`/experiments/${encodeURIComponent(key)}/report`);
  const e = first.experiment;
  app.innerHTML = `<h1>${esc(e.key)} <span id="status" class="pill ${esc(e.status)}">${esc(e.status)}</span></h1>
    <div class="meta"><span><b>${esc(e.name)}</b></span><span>${esc(e.kind)}</span><span>owner ${esc(e.owner)}</span><span>control ${esc(e.control)}</span>
      <span>${temporalLink(e.workflowUrl)}</span><span class="muted" id="as-of"></span></div>
    <p class="muted">${esc(e.hypothesis)}</p>
    ${actionsBar(first)}
    <div id="srm-banner"></div><div id="alerts"></div>
    <h2>Results (latest decision)</h2><div id="results"></div>
    <div class="grid">
      <div class="card"><div id="chart-lift" class="chart"></div></div>
      <div class="card"><div id="chart-cumulative" class="chart"></div></div>
      <div class="card"><div id="chart-daily" class="chart"></div></div>
      <div class="card"><div id="chart-allocation" class="chart"></div></div>
      <div class="card"><div id="chart-srm" class="chart"></div></div>
      <div class="card"><div id="chart-tts" class="chart"></div></div>
      <div class="card"><div id="chart-breakdown" class="chart"></div></div>
    </div>
    <h2>What if: other policies on the logged traffic, and the running window</h2>
    <form class="actions" id="offline-actions" onsubmit="return false">
      <button type="button" data-eval="policy">Evaluate alternatives</button>
      <label>window <input name="window" value="7d" size="5"></label>
      <label>step <input name="step" value="1d" size="5"></label>
      <button type="button" data-eval="window">Evaluate running window</button>
      <span id="offline-result" class="muted"></span>
    </form>
    <div class="grid">
      <div class="card"><div id="chart-whatif" class="chart"></div></div>
      <div class="card"><div id="chart-window" class="chart"></div></div>
    </div>
    <div id="whatif"></div>
    <h2>Segments</h2><div id="segments"></div>
    <h2>Why traffic moved</h2><div id="allocation"></div>
    <h2>Decisions</h2><div id="decisions"></div>
    <h2>Guardrails (latest decision)</h2><div id="guardrails"></div>
    <h2>Sample ratio by period</h2><div id="srm-periods"></div>
    <h2>Time to significance</h2><div id="tts"></div>
    <h2>Breakdown by context</h2><div id="breakdown"></div>`;
  const form = document.getElementById('actions');
  form.addEventListener('click', (ev) => {
    const action = ev.target?.dataset?.action;
    if (action) void act(key, action, form);
  });
  const offline = document.getElementById('offline-actions');
  offline.addEventListener('click', (ev) => {
    const kind = ev.target?.dataset?.eval;
    if (kind) void evaluate(key, kind, offline, async () => renderOffline(await api(`/experiments/${encodeURIComponent(key)}/report`)));
  });
  let report = first;
  poll(async () => {
    report = report ?? (await api(`/experiments/${encodeURIComponent(key)}/report`));
    const status = document.getElementById('status');
    status.textContent = report.experiment.status;
    status.className = `pill ${report.experiment.status}`;
    document.getElementById('as-of').textContent = `report ${when(report.generatedAt)} · data ${when(report.cellsComputedAt)}`;
    renderReportCharts(report);
    renderReportTables(report);
    renderOffline(report);
    report = null;
  });
}

// ---------------------------------------------------------------- offline evaluation (issue 11)

/**
 * Asks for an offline evaluation (POST /evaluations): a large one runs as a workflow and shows up
 * when done. `rerender` redraws the panels first, so "done" is shown with the charts it speaks of.
 */
async function evaluate(key, kind, form, rerender) {
  const out = document.getElementById('offline-result');
  const body = { kind, experiment: key, ...(kind === 'window' ? { window: form.window.value.trim(), step: form.step.value.trim() } : {}) };
  out.textContent = `${kind}: evaluating…`;
  out.className = 'muted';
  try {
    const run = await api('/evaluations', { method: 'POST', body: JSON.stringify(body) });
    await rerender();
    out.textContent = run.status === 'running' ? `${kind}: running as workflow ${run.workflowId}` : `${kind}: done`;
    out.className = run.status === 'failed' ? 'alarm' : 'better';
  } catch (e) {
    out.textContent = `${kind}: ${e.message}`;
    out.className = 'alarm';
  }
}

const ESTIMATORS = ['ips', 'snips', 'dr'];
/** A window's end, to the second (UTC). */
const windowLabel = (t) => new Date(t).toISOString().slice(0, 19).replace('T', ' ');

function renderOffline(r) {
  const off = r.offline ?? { policy: null, window: null, running: [] };
  const policies = off.policy?.result?.policies ?? [];
  const metric = policies[0]?.evaluation?.metric ?? primaryOf(r).key;
  const estimate = (p, name) => p.evaluation.estimates.find((e) => e.estimator === name);
  // What if: each policy's value under each estimator, the doubly robust interval as a box, and
  // the mean of what actually ran as a line.
  chart('chart-whatif', {
    title: { text: policies.length ? `What if: ${metric} per unit under each policy (off-policy)` : 'What if: not evaluated yet', textStyle: { fontSize: 13 } },
    tooltip: { trigger: 'axis' },
    legend: { bottom: 0 },
    xAxis: { type: 'category', data: policies.map((p) => p.label) },
    yAxis: { type: 'value', scale: true },
    series: [
      ...ESTIMATORS.map((name, i) => ({
        name: name.toUpperCase(),
        type: 'bar',
        color: palette[i % palette.length],
        data: policies.map((p) => estimate(p, name)?.value ?? null),
        ...(i === 0 && policies.length ? { markLine: { symbol: 'none', label: { formatter: 'logged' }, data: [{ yAxis: policies[0].evaluation.loggedMean }] } } : {}),
      })),
      { name: 'DR 95% CI', type: 'candlestick', data: policies.map((p) => { const e = estimate(p, 'dr'); return e ? [e.ci[0], e.ci[1], e.ci[0], e.ci[1]] : [null, null, null, null]; }), itemStyle: { color: 'transparent', borderColor: '#111827', color0: 'transparent', borderColor0: '#111827' }, barWidth: 6 },
    ],
  });
  // Running window: each arm's effect against control per window end, with its always-valid interval.
  const rows = (off.window?.result?.rows ?? []).filter((w) => w.segment === null && w.metric === primaryOf(r).key);
  const ends = [...new Set(rows.map((w) => w.windowEnd))].sort();
  const arms = [...new Set(rows.map((w) => w.arm))];
  chart('chart-window', {
    title: { text: off.window ? `Running ${off.window.result.window} window (step ${off.window.result.step}): effect on ${primaryOf(r).key}` : 'Running window: not evaluated yet', textStyle: { fontSize: 13 } },
    tooltip: { trigger: 'axis' },
    legend: { bottom: 0, data: arms },
    xAxis: { type: 'category', data: ends.map(windowLabel) },
    yAxis: { type: 'value', scale: true },
    series: arms.flatMap((arm, i) =>
      bandSeries(arm, ends.map((t) => {
        const w = rows.find((x) => x.windowEnd === t && x.arm === arm);
        return { x: windowLabel(t), y: w?.estimate ?? null, lo: w?.ci?.[0] ?? null, hi: w?.ci?.[1] ?? null };
      }), palette[(i + 1) % palette.length]),
    ),
  });
  const running = off.running.length ? `<p class="muted">Running: ${off.running.map((x) => `${esc(x.kind)} since ${when(x.createdAt)}`).join(', ')}</p>` : '';
  const el = document.getElementById('whatif');
  if (!el) return;
  el.innerHTML = running + (policies.length
    ? `<p class="muted">Evaluated ${when(off.policy.createdAt)} on ${policies[0].evaluation.n} logged units; logged mean ${fmt(policies[0].evaluation.loggedMean)}. 95% intervals.</p>
      <table id="whatif-table"><thead><tr><th>Policy</th>${ESTIMATORS.map((n) => `<th>${n.toUpperCase()}</th>`).join('')}<th class="num">ESS</th><th>Warnings</th></tr></thead><tbody>${policies
        .map((p) => `<tr><td>${esc(p.label)}</td>${ESTIMATORS.map((n) => { const e = estimate(p, n); return `<td>${e ? `${fmt(e.value)} [${fmt(e.ci[0])}, ${fmt(e.ci[1])}]` : '–'}</td>`; }).join('')}<td class="num">${fmt(estimate(p, 'dr')?.effectiveSampleSize, 4)}</td><td>${esc((p.evaluation.warningText ?? []).join('; ')) || '–'}</td></tr>`)
        .join('')}</tbody></table>`
    : '<p class="muted">No off-policy evaluation yet: "Evaluate alternatives" estimates what each arm always, uniform and the current policy would have earned.</p>');
}

// ---------------------------------------------------------------- entities and models

async function renderEntities() {
  const { entities } = await api('/reports/entities');
  app.innerHTML = `<h1>Entities</h1><ul>${entities.map((e) => `<li><a href="#/entity/${encodeURIComponent(e)}">${esc(e)}</a></li>`).join('') || '<li class="muted">No entity yet.</li>'}</ul>`;
}

async function renderEntity(entity, at) {
  app.innerHTML = `<h1>Entity ${esc(entity)}</h1>
    <form class="actions" id="at-form" onsubmit="return false"><label>at <input type="datetime-local" name="at" value="${esc(at ?? '')}"></label><button>Show</button><span class="muted">empty: now</span></form>
    <div class="grid"><div class="card"><div id="chart-traffic" class="chart"></div></div></div>
    <h2>Experiments</h2><div id="entity-experiments"></div><h2>Models</h2><div id="entity-models"></div>`;
  document.getElementById('at-form').addEventListener('submit', () => {
    const v = document.getElementById('at-form').at.value;
    location.hash = `#/entity/${encodeURIComponent(entity)}${v ? `?at=${encodeURIComponent(new Date(v).toISOString())}` : ''}`;
  });
  poll(async () => {
    const r = await api(`/entities/${encodeURIComponent(entity)}/report${at ? `?at=${encodeURIComponent(at)}` : ''}`);
    chart('chart-traffic', {
      title: { text: `Traffic in the day before ${when(r.at)}`, textStyle: { fontSize: 13 } },
      tooltip: { trigger: 'item' },
      series: [{ type: 'pie', radius: ['35%', '70%'], data: r.traffic.map((t) => ({ name: `${t.experiment} · ${t.variant}${t.modelVersion ? ` (${t.modelVersion})` : ''}`, value: t.units })) }],
    });
    document.getElementById('entity-experiments').innerHTML = r.experiments
      .map((e) => `<h3><a href="#/experiment/${encodeURIComponent(e.key)}">${esc(e.key)}</a> <span class="pill ${esc(e.phase ?? '')}">${esc(e.phase ?? 'not started')}</span> <span class="muted">${e.units} units, snapshot v${e.snapshotVersion ?? '–'}</span></h3>${estimatesTable(e.arms, '')}`)
      .join('') || '<p class="muted">No experiment at that time.</p>';
    document.getElementById('entity-models').innerHTML = `<table><thead><tr><th>Model type</th><th>Champion</th><th>Challengers</th><th>Retired</th></tr></thead><tbody>${r.models
      .map((m) => `<tr><td>${esc(m.modelType)}</td><td>${m.champion ? `<b>${esc(m.champion.version)}</b> <span class="muted">${esc(m.champion.uri)}</span>` : '–'}</td><td>${m.challengers.map((c) => `${esc(c.version)}${c.experimentKey ? ` <a href="#/experiment/${encodeURIComponent(c.experimentKey)}">comparison</a>` : ''}`).join('<br>') || '–'}</td><td>${m.retired.map((c) => esc(c.version)).join(', ') || '–'}</td></tr>`)
      .join('')}</tbody></table>`;
  });
}

async function renderModels() {
  app.innerHTML = `<h1>Model registry</h1><table id="models"><thead><tr><th>Entity</th><th>Model type</th><th>Version</th><th>Status</th><th>URI</th><th>Comparison</th><th>Registered</th></tr></thead><tbody></tbody></table>`;
  poll(async () => {
    const { models } = await api('/models');
    document.querySelector('#models tbody').innerHTML = models
      .map((m) => `<tr><td><a href="#/entity/${encodeURIComponent(m.entity)}">${esc(m.entity)}</a></td><td>${esc(m.modelType)}</td><td>${esc(m.version)}</td><td><span class="pill ${m.status === 'champion' ? 'concluded' : m.status === 'rejected' ? 'stopped' : ''}">${esc(m.status)}</span></td><td>${esc(m.uri)}</td>
        <td>${m.experimentKey ? `<a href="#/experiment/${encodeURIComponent(m.experimentKey)}">${esc(m.experimentKey)}</a> ${temporalLink(`${config.temporalUiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(config.namespace)}/workflows/experiment-${encodeURIComponent(m.experimentKey)}`)}` : '–'}</td><td>${when(m.createdAt)}</td></tr>`)
      .join('') || '<tr><td colspan="7" class="muted">No model versions registered.</td></tr>';
  });
}

// ---------------------------------------------------------------- routing

async function route() {
  clearInterval(timer);
  const [path, query] = location.hash.replace(/^#/, '').split('?');
  const parts = (path || '/').split('/').filter(Boolean).map(decodeURIComponent);
  try {
    if (parts[0] === 'experiment' && parts[1]) await renderExperiment(parts[1]);
    else if (parts[0] === 'entity' && parts[1]) await renderEntity(parts[1], new URLSearchParams(query ?? '').get('at'));
    else if (parts[0] === 'entities') await renderEntities();
    else if (parts[0] === 'models') await renderModels();
    else await renderList();
  } catch (e) {
    app.innerHTML = `<div class="banner bad">${esc(e.message)}</div>`;
  }
}

config = await api('/dashboard/config.json').catch(() => config);
window.addEventListener('hashchange', route);
await route();
