// What Prometheus and Grafana get from a real running api and supervisor:
// both /metrics pass `promtool check metrics` with no warning, the oldest
// active and waiting job are counted, and every metric the dashboard and the
// alert rules query is one these processes really serve.
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { fixture, ROOT } from '../../helpers/fork.js';
import { killApi, startApi, type RunningApi } from '../../helpers/api.js';
import { exposedNames, metricNames } from '../../helpers/promql.js';
import { redisAnswers, requireService } from '../../helpers/services.js';
import { killAll, startSupervisor, testDeployment, workerPids, type Deployment, type RunningSupervisor } from '../../helpers/supervisor.js';
import { PROMTOOL, requireTool, run } from '../../helpers/tools.js';
import { waitFor } from '../../helpers/wait.js';

const DASHBOARD = path.join(ROOT, 'deploy/grafana/jobvisor.json');
const ALERTS = path.join(ROOT, 'deploy/prometheus/alerts.yml');
/** Series Prometheus makes itself, not any target. */
const SYNTHETIC = new Set(['up']);

interface Panel { title?: string; targets?: { expr: string }[]; panels?: Panel[] }

function dashboardQueries(): { panel: string; expr: string }[] {
  const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] };
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  return panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title ?? '?', expr: t.expr })));
}

function alertQueries(): { alert: string; expr: string }[] {
  const rules = parse(fs.readFileSync(ALERTS, 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
  return rules.groups.flatMap((g) => g.rules.map((r) => ({ alert: r.alert, expr: r.expr })));
}

/** Grafana's variables as Prometheus would see them once Grafana filled them in. */
const asPromql = (expr: string) => expr.replaceAll('$__rate_interval', '5m').replaceAll('$queue', '.*');

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('operations: /metrics of a real api and supervisor', function () {
  this.timeout(120_000);
  let deployment: Deployment | undefined;
  let supervisor: RunningSupervisor | undefined;
  let api: RunningApi | undefined;
  let apiText = '';
  let supervisorText = '';

  before(async function () {
    await requireService(this, 'Redis', redisAnswers);
    await requireTool(this, 'promtool', PROMTOOL);
    deployment = await testDeployment();
    const { store, ledger, env } = deployment;
    supervisor = startSupervisor({ ...env, WORKER_QUEUES: 'ai', QUEUE_AI_CONCURRENCY: '1', JOBVISOR_HANDLER_MODULE_AI: fixture('sleep') });
    api = startApi({ ...env, WORKER_QUEUES: 'ai', ADMIN_API_KEYS: 'ops-admin' });
    const base = await api.base;
    const { metricsPort } = await supervisor.waitForLog((l) => l.msg === 'metrics listening', 30_000, 'the metrics port');
    await supervisor.waitForLog((l) => l.msg === 'worker started', 30_000, 'the ai worker');

    // One job done, so that the histograms have samples; then one running long and one waiting behind it.
    await store.enqueue({ queue: 'ai', data: { ledger, ms: 10 } });
    await waitFor(async () => (await store.counts('ai')).completed === 1, { timeoutMs: 20_000, message: 'the first job done' });
    const { job: long } = await store.enqueue({ queue: 'ai', data: { ledger, ms: 60_000 } });
    await store.enqueue({ queue: 'ai', data: { ledger, ms: 10 } });
    await waitFor(async () => (await store.get('ai', long.id))?.state === 'active', { message: 'the long job active' });
    // Past the api's 5-second snapshot, and far enough from the start for the ages to read whole seconds.
    await waitFor(async () => {
      apiText = await (await fetch(`${base}/metrics`)).text();
      return (sample(apiText, 'jobvisor_queue_oldest_waiting_seconds{queue="ai"}') ?? 0) >= 1.5;
    }, { timeoutMs: 20_000, intervalMs: 500, message: 'the waiting job counted on /metrics' });
    supervisorText = await (await fetch(`http://127.0.0.1:${metricsPort as number}/metrics`)).text();
  });

  after(async () => {
    killApi(api);
    if (supervisor) killAll([supervisor.child.pid!, ...workerPids(supervisor.logs)]);
    await deployment?.cleanup();
  });

  for (const [endpoint, text] of [['api /metrics', () => apiText], ['supervisor METRICS_PORT', () => supervisorText]] as const) {
    it(`passes promtool check metrics with no warning on the ${endpoint}`, async () => {
      expect(text()).to.match(/^jobvisor_/m);
      const checked = await run(PROMTOOL, ['check', 'metrics'], text());
      expect(checked.stdout + checked.stderr, 'promtool says nothing').to.equal('');
      expect(checked.code).to.equal(0);
    });
  }

  it('reports the longest-running and the longest-waiting job of a queue, and its live worker', () => {
    expect(sample(apiText, 'jobvisor_queue_oldest_active_seconds{queue="ai"}')).to.be.at.least(1.5);
    expect(sample(apiText, 'jobvisor_queue_oldest_waiting_seconds{queue="ai"}')).to.be.at.least(1.5);
    expect(sample(apiText, 'jobvisor_queue_oldest_active_seconds{queue="video"}'), 'a queue with nothing running').to.equal(0);
    expect(sample(apiText, 'jobvisor_queue_live_workers{queue="ai"}')).to.equal(1);
    expect(sample(apiText, 'jobvisor_queue_crash_looping{queue="ai"}')).to.equal(0);
    expect(sample(apiText, 'jobvisor_queue_worker_max_rss_bytes{queue="ai"}')).to.be.above(10 * 1024 * 1024);
    expect(sample(apiText, 'jobvisor_queue_memory_budget_bytes{queue="ai"}')).to.be.above(0);
  });

  it('serves every metric a dashboard panel queries', () => {
    const served = new Set([...exposedNames(apiText), ...exposedNames(supervisorText)]);
    const queries = dashboardQueries();
    expect(queries.length).to.be.above(10);
    const missing = queries.flatMap(({ panel, expr }) => metricNames(expr).filter((n) => !served.has(n)).map((n) => `${panel}: ${n}`));
    expect(missing).to.deep.equal([]);
    expect(metricNames('rate(jobvisor_jobs_completd_total{queue="a"}[5m])').filter((n) => !served.has(n)), 'a typo is caught')
      .to.deep.equal(['jobvisor_jobs_completd_total']);
  });

  it('serves every metric an alert rule reads', () => {
    const served = new Set([...exposedNames(apiText), ...exposedNames(supervisorText), ...SYNTHETIC]);
    const missing = alertQueries().flatMap(({ alert, expr }) => metricNames(expr).filter((n) => !served.has(n)).map((n) => `${alert}: ${n}`));
    expect(missing).to.deep.equal([]);
  });

  it('has dashboard queries that Prometheus parses', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobvisor-dash-'));
    try {
      // promtool parses expressions in rule files: each panel query becomes a recording rule.
      const rules = dashboardQueries().map(({ expr }, i) => ({ record: `dashboard:query_${i}`, expr: asPromql(expr) }));
      const file = path.join(dir, 'dashboard.rules.json');
      fs.writeFileSync(file, JSON.stringify({ groups: [{ name: 'dashboard', rules }] }));
      const checked = await run(PROMTOOL, ['check', 'rules', file]);
      expect(checked.code, checked.stdout + checked.stderr).to.equal(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
