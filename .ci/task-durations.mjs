// Prints how long each turbo task of the newest run took (from `turbo run --summarize`), longest first,
// so a slow or stuck step in CI is plain to see.
import fs from 'node:fs';
import path from 'node:path';

const dir = path.resolve(import.meta.dirname, '../.turbo/runs');
const runs = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
if (runs.length === 0) {
  console.log('task durations: no turbo run summary found');
  process.exit(0);
}
const newest = runs
  .map((f) => path.join(dir, f))
  .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
const summary = JSON.parse(fs.readFileSync(newest, 'utf8'));
const seconds = (e) => (e?.endTime && e?.startTime ? (e.endTime - e.startTime) / 1000 : 0);
const rows = summary.tasks
  .map((t) => ({
    task: t.taskId,
    s: seconds(t.execution),
    cache: t.cache?.status === 'HIT' ? ' (cached)' : '',
    failed: t.execution?.exitCode ? ` FAILED (exit ${t.execution.exitCode})` : '',
  }))
  .sort((a, b) => b.s - a.s);
console.log(`task durations (${summary.execution.command}):`);
for (const r of rows) console.log(`  ${r.s.toFixed(1).padStart(7)} s  ${r.task}${r.cache}${r.failed}`);
console.log(`  ${seconds(summary.execution).toFixed(1).padStart(7)} s  all tasks (wall clock)`);
