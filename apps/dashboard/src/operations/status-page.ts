import { Router } from 'express';
import { requirePermission } from '../auth/access-control.js';
import type { CsrfProtection } from '../auth/csrf-protection.js';
import { formatBytes, formatDuration, formatTime } from '../views/display-format.js';
import type { HealthChecker, HealthReport } from './health-check.js';
import { dataTable } from '../views/data-table.js';
import { html, type SafeHtml } from '../views/html-template.js';
import { renderPage } from '../views/page-layout.js';

/** GET /status: the health report for people (the same data as /health). */
export function createStatusPage(health: HealthChecker, csrf: CsrfProtection): Router {
  const router = Router();
  router.get('/status', requirePermission('operations:read', 'page'), async (req, res) => {
    const report = await health.check();
    res.send(
      renderPage({
        title: 'Health',
        section: 'status',
        user: res.locals.user,
        csrfToken: csrf.token(req),
        body: statusBody(report),
      }),
    );
  });
  return router;
}

function statusBody(r: HealthReport): SafeHtml {
  const noon = r.noonTarget;
  return html`<h1>Health <span class="badge ${r.status}">${r.status}</span></h1>
    ${
      r.problems.length
        ? html`<div class="problems">
            <ul>
              ${r.problems.map((p) => html`<li>${p}</li>`)}
            </ul>
          </div>`
        : html`<p class="notice">Everything checked is fine.</p>`
    }
    <div class="cards" style="margin-top:14px">
      ${Object.entries(r.dependencies).map(
        ([name, d]) =>
          html`<div class="card">
            <div class="label">${name}</div>
            <div class="value">
              ${d.ok ? html`<span class="badge ok">up</span>` : html`<span class="badge bad">down</span>`}
            </div>
            <div class="muted">${d.ok ? `${d.latencyMs} ms` : d.error}</div>
          </div>`,
      )}
      <div class="card">
        <div class="label">Noon target (${noon?.date ?? 'today'})</div>
        <div class="value">
          ${noon ? html`${noon.batchesComplete} / ${noon.batchesDue} ${noon.met ? html`<span class="badge ok">on track</span>` : html`<span class="badge bad">${noon.deadlinePassed ? 'missed' : 'behind'}</span>`}` : '–'}
        </div>
        <div class="muted">
          ${noon ? html`due by ${formatTime(noon.deadlineAt)}; ${noon.flaggedWaiting} flagged items wait for review` : 'Postgres unavailable'}
        </div>
      </div>
      <div class="card">
        <div class="label">Stuck batches</div>
        <div class="value">${r.stuckBatches ? r.stuckBatches.count : '–'}</div>
        <div class="muted">
          not done ${r.stuckBatches ? formatDuration(r.stuckBatches.olderThanMs) : ''} after transfer
        </div>
      </div>
    </div>
    ${
      r.stuckBatches && r.stuckBatches.count > 0
        ? html`<h2>Stuck batches</h2>
            ${dataTable(
              ['Batch', 'Status', 'Host', 'Transferred', '#Age'],
              r.stuckBatches.batches.map(
                (b) =>
                  html`<tr>
                    <td>
                      <a class="mono" href="/batches/${encodeURIComponent(b.batchId)}">${b.batchId}</a>
                    </td>
                    <td>${b.status}</td>
                    <td>${b.host ?? '–'}</td>
                    <td>${formatTime(b.transferredAt)}</td>
                    <td class="num">${formatDuration(b.ageSeconds * 1000)}</td>
                  </tr>`,
              ),
            )}`
        : ''
    }
    <h2>Hosts</h2>
    ${
      r.hosts === null
        ? html`<p class="muted">Redis unavailable.</p>`
        : r.hosts.length === 0
          ? html`<p class="notice">No worker has sent a heartbeat.</p>`
          : dataTable(
              ['Host', 'Heartbeat', '#Free scratch', '#Active jobs', '#Pending jobs', 'Models', 'Processes'],
              r.hosts.map(
                (h) =>
                  html`<tr>
                    <td class="mono">${h.hostId}</td>
                    <td>
                      ${h.alive ? html`<span class="badge ok">alive</span>` : html`<span class="badge bad">none</span>`}
                    </td>
                    <td class="num">
                      ${h.scratchLow ? html`<span class="badge bad">${formatBytes(h.freeScratchBytes)}</span>` : formatBytes(h.freeScratchBytes)}
                    </td>
                    <td class="num">${h.activeJobs}</td>
                    <td class="num">${h.pendingJobs}</td>
                    <td class="models">
                      ${Object.keys(h.models).length === 0 ? '–' : Object.entries(h.models).map(([name, version]) => html`<div class="mono">${name} ${version}</div>`)}
                    </td>
                    <td>
                      ${h.workers.map((w) => html`<div class="mono">${w.app} ${w.version}${w.release ? ` (release ${w.release})` : ''} pid ${w.pid}, ${w.activeJobs} active, beat ${Math.round(w.ageSeconds)} s ago</div>`)}
                    </td>
                  </tr>`,
              ),
            )
    }
    <h2>Queues</h2>
    ${
      r.queues === null
        ? html`<p class="muted">Redis unavailable.</p>`
        : dataTable(
            ['Queue', '#Waiting', '#Active', '#Delayed', '#Waiting for children', '#Failed', '#Completed'],
            r.queues.map(
              (q) =>
                html`<tr>
                  <td>
                    <a class="mono" href="/board/queue/${encodeURIComponent(q.name)}">${q.name}</a
                    >${q.paused ? html` <span class="badge warn">paused</span>` : ''}
                  </td>
                  <td class="num">${q.waiting + q.prioritized}</td>
                  <td class="num">${q.active}</td>
                  <td class="num">${q.delayed}</td>
                  <td class="num">${q.waitingChildren}</td>
                  <td class="num">${q.failed ? html`<span class="badge bad">${q.failed}</span>` : 0}</td>
                  <td class="num">${q.completed}</td>
                </tr>`,
            ),
          )
    }
    <p class="muted">
      Checked ${formatTime(r.checkedAt)} in ${r.durationMs} ms. JSON: <a href="/health">/health</a>.
    </p>`;
}
