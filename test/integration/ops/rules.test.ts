// The shipped Prometheus rules, checked by Prometheus's own tool: they load,
// and `promtool test rules` passes unit tests that show every alert both
// firing and staying silent.
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ROOT } from '../../helpers/fork.js';
import { PROMTOOL, requireTool, run } from '../../helpers/tools.js';

const RULES = path.join(ROOT, 'deploy/prometheus');
const ALERTS = path.join(RULES, 'alerts.yml');
const TESTS = path.join(RULES, 'tests');

interface AlertTest { alertname: string; exp_alerts?: unknown[] | null }
interface RuleTests { rule_files: string[]; tests: { name: string; alert_rule_test?: AlertTest[] }[] }

const testFiles = () => fs.readdirSync(TESTS).filter((f) => f.endsWith('.yml')).map((f) => path.join(TESTS, f));
const alertNames = () => (parse(fs.readFileSync(ALERTS, 'utf8')) as { groups: { rules: { alert?: string }[] }[] })
  .groups.flatMap((g) => g.rules.map((r) => r.alert)).filter((name): name is string => name !== undefined);

describe('operations: Prometheus alert rules', function () {
  this.timeout(60_000);

  before(async function () {
    await requireTool(this, 'promtool', PROMTOOL);
  });

  it('load in Prometheus (promtool check rules)', async () => {
    const checked = await run(PROMTOOL, ['check', 'rules', ALERTS]);
    expect(checked.code, checked.stdout + checked.stderr).to.equal(0);
    expect(checked.stdout).to.include(`SUCCESS: ${alertNames().length} rules found`);
  });

  it('pass their unit tests (promtool test rules)', async () => {
    const files = testFiles();
    const tested = await run(PROMTOOL, ['test', 'rules', ...files]);
    expect(tested.code, tested.stdout + tested.stderr).to.equal(0);
    expect(tested.stdout.match(/SUCCESS/g)?.length, 'one SUCCESS per file').to.equal(files.length);
  });

  it('have a test for every alert that sees it fire and one that sees it stay silent', () => {
    const cases = testFiles().flatMap((file) => (parse(fs.readFileSync(file, 'utf8')) as RuleTests).tests)
      .flatMap((t) => t.alert_rule_test ?? []);
    const names = alertNames();
    expect(names).to.include.members(['JobvisorJobStuck', 'JobvisorHighFailureRate', 'JobvisorBacklog', 'JobvisorCrashLooping', 'JobvisorNoLiveWorker', 'JobvisorMemoryRecycles', 'JobvisorHostUnreachable', 'JobvisorJobsOrphaned']);
    const coverage = names.map((alert) => {
      const mine = cases.filter((c) => c.alertname === alert);
      return { alert, fires: mine.some((c) => (c.exp_alerts ?? []).length > 0), silent: mine.some((c) => (c.exp_alerts ?? []).length === 0) };
    });
    expect(coverage).to.deep.equal(names.map((alert) => ({ alert, fires: true, silent: true })));
  });
});
