import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import { findProgram } from '@audio/local-services';

// infra/prometheus: the alert rules are valid (`promtool check rules`) and fire when and only when they
// should (`promtool test rules` on alerts.test.yml). Debian's `prometheus` package brings promtool.
const dir = path.resolve(import.meta.dirname, '../../infra/prometheus');
const promtool = findProgram('promtool');

describe('Prometheus alert rules', () => {
  if (!promtool) {
    it.skip('SKIPPED: promtool is not installed (apt-get install prometheus), the alert rules are not checked', () => {});
    return;
  }

  const run = (...args: string[]) => {
    const result = spawnSync(promtool, args, { cwd: dir, encoding: 'utf8' });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  };

  it('pass promtool check rules', () => {
    expect(run('check', 'rules', 'alerts.yml')).toEqual({
      status: 0,
      output: expect.stringContaining('SUCCESS: 7 rules found'),
    });
  });

  it('pass their unit tests (promtool test rules alerts.test.yml)', () => {
    expect(run('test', 'rules', 'alerts.test.yml')).toEqual({
      status: 0,
      output: expect.stringContaining('SUCCESS'),
    });
  });
});
