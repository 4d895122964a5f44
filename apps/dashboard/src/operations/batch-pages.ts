import { Router } from 'express';
import { z } from 'zod';
import { requirePermission } from '../auth/access-control.js';
import { can } from '../auth/roles.js';
import type { BatchDetail, BatchEntry, BatchOverview, BatchSummary, JobTiming } from './batch-overview.js';
import {
  BATCH_STATUSES as STATUSES,
  batchListQuery as listQuery,
  listFilter,
  type BatchListQuery,
} from './batch-list-query.js';
import type { CsrfProtection } from '../auth/csrf-protection.js';
import { between, formatBytes, formatDuration, formatTime } from '../views/display-format.js';
import { dataTable } from '../views/data-table.js';
import { html, type SafeHtml } from '../views/html-template.js';
import { errorPage, renderPage } from '../views/page-layout.js';

/** The batch list with progress, a batch's files with reasons and timings (the same as JSON: ../api). */
export function createBatchPages(overview: BatchOverview, csrf: CsrfProtection): Router {
  const router = Router();
  const page = requirePermission('operations:read', 'page');

  router.get('/batches', page, async (req, res) => {
    const query = listQuery.safeParse(req.query);
    if (!query.success)
      return res.status(400).send(
        errorPage({
          status: 400,
          message: `Bad filter: ${query.error.issues[0]!.path.join('.')} ${query.error.issues[0]!.message}`,
          user: res.locals.user,
          csrfToken: csrf.token(req),
          back: { href: '/batches', label: 'All batches' },
        }),
      );
    const q = query.data;
    const { status, limit, offset } = q;
    const filter = listFilter(q);
    const [batches, counts] = await Promise.all([
      overview.list({ ...filter, limit, offset }),
      overview.countByStatus({ ...filter }),
    ]);
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    // Links keep the other filters and drop the paging.
    const link = (change: Partial<BatchListQuery>) => {
      const next = { ...q, offset: 0, ...change };
      const search = new URLSearchParams();
      for (const key of ['status', 'q', 'from', 'to', 'failed'] as const)
        if (next[key]) search.set(key, String(next[key]));
      if (next.offset) search.set('offset', String(next.offset));
      const text = search.toString();
      return text ? `/batches?${text}` : '/batches';
    };
    const filtered = Boolean(q.q || q.from || q.to || q.failed);
    const emptyText = `No batches${status ? ` with status ${status}` : ''}${filtered ? ' match the filter' : ''}.`;
    res.send(
      renderPage({
        title: 'Batches',
        section: 'batches',
        user: res.locals.user,
        csrfToken: csrf.token(req),
        body: html`<h1>Batches</h1>
          <form class="filters" method="get" action="/batches">
            <input
              type="search"
              name="q"
              value="${q.q ?? ''}"
              placeholder="batch id or source"
              aria-label="Search by batch id or source"
            />
            <label>from <input type="date" name="from" value="${q.from ?? ''}" /></label>
            <label>to <input type="date" name="to" value="${q.to ?? ''}" /></label>
            ${status ? html`<input type="hidden" name="status" value="${status}" />` : ''}
            ${q.failed ? html`<input type="hidden" name="failed" value="${q.failed}" />` : ''}
            <button type="submit">Filter</button>
            ${filtered ? html`<a href="${link({ q: undefined, from: undefined, to: undefined, failed: undefined })}">clear</a>` : ''}
          </form>
          ${q.failed ? html`<p class="notice">Batches that failed, or have files that failed, in the last ${q.failed}.</p>` : ''}
          <p class="muted status-counts">
            Show:
            <a href="${link({ status: undefined })}"
              >${status ? `all (${total})` : html`<strong>all (${total})</strong>`}</a
            >
            ${STATUSES.map(
              (s) =>
                html` ·
                  <a href="${link({ status: s })}" data-status="${s}"
                    >${s === status ? html`<strong>${s} (${counts[s]})</strong>` : `${s} (${counts[s]})`}</a
                  >`,
            )}
          </p>
          ${
            batches.length === 0
              ? html`<p class="notice">${emptyText}</p>`
              : dataTable(
                  [
                    'Batch',
                    'Status',
                    'Host',
                    'Progress',
                    '#Done',
                    '#Failed',
                    'Flow (BullMQ)',
                    'Transferred',
                    'Took',
                    '#Size',
                  ],
                  batches.map(batchRow),
                  'batches',
                )
          }
          <div class="pager">
            ${offset > 0 ? html`<a href="${link({ offset: Math.max(0, offset - limit) })}">← newer</a>` : ''}
            ${batches.length === limit ? html`<a href="${link({ offset: offset + limit })}">older →</a>` : ''}
          </div>`,
      }),
    );
  });

  router.get('/batches/:batchId', page, async (req, res) => {
    const view = fileView.safeParse(req.query);
    if (!view.success)
      return res.status(400).send(
        errorPage({
          status: 400,
          message: `Bad query: ${view.error.issues[0]!.path.join('.')} ${view.error.issues[0]!.message}`,
          user: res.locals.user,
          csrfToken: csrf.token(req),
          back: { href: `/batches/${encodeURIComponent(String(req.params.batchId))}`, label: 'The batch' },
        }),
      );
    const detail = await overview.detail(String(req.params.batchId));
    if (!detail) {
      return res.status(404).send(
        errorPage({
          status: 404,
          message: `There is no batch ${req.params.batchId}.`,
          user: res.locals.user,
          csrfToken: csrf.token(req),
          back: { href: '/batches', label: 'All batches' },
        }),
      );
    }
    res.send(
      renderPage({
        title: `Batch ${detail.batch.batchId}`,
        section: 'batches',
        user: res.locals.user,
        csrfToken: csrf.token(req),
        body: batchDetailBody(detail, {
          canAct: can(res.locals.user!.role, 'board:write'),
          queued: typeof req.query.queued === 'string' ? req.query.queued : undefined,
          view: view.data,
        }),
      }),
    );
  });

  return router;
}

export function badge(text: string, kind: string = text): SafeHtml {
  return html`<span class="badge ${kind}">${text}</span>`;
}

/** Refused entries are part of the total: 12 of 15 refused is 3/15 with a mostly red bar, not 3/3. */
function progressBar(b: BatchSummary): SafeHtml {
  const total = b.totalEntries ?? 0;
  if (total === 0)
    return html`<span class="muted">${b.totalEntries === null ? 'not unpacked yet' : 'no files'}</span>`;
  const done = Math.min(100, (b.filesDone / total) * 100);
  const failed = Math.min(100 - done, (b.filesFailed / total) * 100);
  return html`<div class="bar" title="${b.filesDone} done, ${b.filesFailed} failed of ${total}">
    <span class="done" style="width:${done.toFixed(1)}%"></span
    ><span class="failed" style="left:${done.toFixed(1)}%;width:${failed.toFixed(1)}%"></span>
  </div>`;
}

function flowText(b: BatchSummary): SafeHtml | string {
  if (!b.flow) return html`<span class="muted">–</span>`;
  const f = b.flow;
  return html`<span class="mono"
    >${f.finalizeState}: ${f.processed} done, ${f.unprocessed}
    pending${f.ignored ? `, ${f.ignored} failed` : ''}</span
  >`;
}

/**
 * From transfer to the FIRST completion (a replay does not move it); a failed batch's clock stops when
 * it failed; only a batch still on its way counts on.
 */
function tookCell(b: BatchSummary): SafeHtml {
  if (b.completedAt) {
    const took = formatDuration(between(b.transferredAt, b.completedAt));
    return b.status === 'complete'
      ? html`${took}`
      : html`${took}
          <div class="muted">first run; now ${b.status} again</div>`;
  }
  if (b.status === 'failed')
    return html`<span class="muted"
      >failed after ${formatDuration(between(b.transferredAt, b.failedAt))}</span
    >`;
  return html`<span class="muted">${formatDuration(between(b.transferredAt, Date.now()))} so far</span>`;
}

function batchRow(b: BatchSummary): SafeHtml {
  const total = b.totalEntries === null ? '?' : String(b.totalEntries);
  return html`<tr>
    <td><a class="mono" href="/batches/${encodeURIComponent(b.batchId)}">${b.batchId}</a></td>
    <td>${badge(b.status)}${b.batchError ? html` <span class="muted">${b.batchError.code}</span>` : ''}</td>
    <td>${b.host ?? html`<span class="muted">–</span>`}</td>
    <td>${progressBar(b)}</td>
    <td class="num">${b.filesDone}/${total}</td>
    <td class="num">${b.filesFailed > 0 ? badge(String(b.filesFailed), 'bad') : '0'}</td>
    <td>${flowText(b)}</td>
    <td>${formatTime(b.transferredAt)}</td>
    <td class="took">${tookCell(b)}</td>
    <td class="num">${formatBytes(b.sizeBytes)}</td>
  </tr>`;
}

/** An archive path that wraps after its slashes rather than inside a file name. */
export function pathWithBreaks(entry: string): SafeHtml {
  return html`${entry.split('/').map((part, i) => (i === 0 ? part : html`/<wbr />${part}`))}`;
}

/** A job's run time linking to it in Bull Board, with its wait and attempts. */
export function jobCell(t: JobTiming | null): SafeHtml {
  if (!t) return html`<span class="muted">–</span>`;
  const ran = between(t.startedAt, t.finishedAt);
  const waited = between(t.queuedAt, t.startedAt);
  const href = `/board/queue/${encodeURIComponent(t.queue)}/${encodeURIComponent(t.jobId)}`;
  return html`<a class="job" href="${href}" title="the job in Bull Board"
      >${ran === null ? (t.startedAt ? 'running' : 'queued') : formatDuration(ran)}</a
    >
    ${waited !== null ? html`<div class="muted">waited ${formatDuration(waited)}</div>` : ''}
    ${t.attempts > 1 ? html`<div class="muted">${t.attempts} attempts</div>` : ''}`;
}

function entryRow(e: BatchEntry, unpackingAt: Date | null): SafeHtml {
  const outcome =
    e.outcome === 'failed'
      ? badge('failed', 'bad')
      : e.outcome === 'flagged'
        ? badge('flagged')
        : badge('ok');
  const details =
    e.outcome === 'failed'
      ? e.failures.map(
          (f) =>
            html`<div>
              <strong>${f.reasonCode}</strong> <span class="muted">at ${f.stage}</span>:
              ${f.message}${f.attempts > 1 ? html` <span class="muted">(${f.attempts} attempts)</span>` : ''}
            </div>`,
        )
      : html`${e.transcriptPreview ? html`<div>“${e.transcriptPreview}”</div>` : ''}
        ${e.policyIds.length ? html`<div class="muted">${e.policyIds.join(', ')}</div>` : ''}
        ${e.failures.map((f) => html`<div class="muted">earlier: ${f.reasonCode} at ${f.stage}</div>`)}`;
  return html`<tr>
    <td class="mono entry">
      ${
        e.audioFileId
          ? html`<a href="/files/${e.audioFileId}" title="the file: results, jobs and labels"
              >${pathWithBreaks(e.entry)}</a
            >`
          : pathWithBreaks(e.entry)
      }
    </td>
    <td>${outcome}</td>
    <td class="num">${e.score === null ? '–' : e.score.toFixed(2)}</td>
    <td class="num">${e.durationSeconds === null ? '–' : formatDuration(e.durationSeconds * 1000)}</td>
    <td>${jobCell(e.convert)}</td>
    <td>${jobCell(e.transcribe)}</td>
    <td>
      ${
        e.recordedAt
          ? html`${formatTime(e.recordedAt)}
              <div class="muted">
                +${formatDuration(between(unpackingAt, e.recordedAt))} after unpack start
              </div>`
          : e.failures[0]
            ? formatTime(e.failures[0].at)
            : '–'
      }
    </td>
    <td>${details}</td>
  </tr>`;
}

/** Failed files a retry would run again: failed after unpack accepted them (not refused). */
function retryableCount(d: BatchDetail): number {
  return d.entries.filter((e) => e.outcome === 'failed' && !e.failures.some((f) => f.stage === 'unpack'))
    .length;
}

function actions(d: BatchDetail, options: { canAct: boolean; queued: string | undefined }): SafeHtml {
  const b = d.batch;
  const retryable = retryableCount(d);
  const queued =
    options.queued === 'replay'
      ? 'Replay queued: a host will take it from the unpack queue.'
      : options.queued === 'retry-failed'
        ? 'Retry of the failed files queued: they are extracted again from the archive in S3.'
        : null;
  if (!options.canAct) return queued ? html`<p class="notice">${queued}</p>` : html``;
  return html`${queued ? html`<p class="notice queued">${queued}</p>` : ''}
    <div class="actions">
      <a class="button" href="/batches/${b.batchId}/replay">Replay batch</a>
      ${
        b.status === 'complete' && retryable > 0
          ? html`<a class="button" href="/batches/${b.batchId}/retry-failed"
              >Retry failed files (${retryable})</a
            >`
          : ''
      }
    </div>`;
}

const FILES_PER_PAGE = 200;
const SHOW = ['all', 'failed', 'flagged'] as const;
/** `?show=all|failed|flagged&page=N` of a batch page: big batches are shown a page of files at a time. */
const fileView = z.object({
  show: z.enum(SHOW).default('all'),
  page: z.coerce.number().int().min(1).default(1),
});
type FileView = z.output<typeof fileView>;

function filesSection(d: BatchDetail, view: FileView): SafeHtml {
  const b = d.batch;
  const matching = view.show === 'all' ? d.entries : d.entries.filter((e) => e.outcome === view.show);
  const pages = Math.max(1, Math.ceil(matching.length / FILES_PER_PAGE));
  const pageNo = Math.min(view.page, pages);
  const shown = matching.slice((pageNo - 1) * FILES_PER_PAGE, pageNo * FILES_PER_PAGE);
  const base = `/batches/${encodeURIComponent(b.batchId)}`;
  const link = (show: FileView['show'], p = 1) => {
    const search = new URLSearchParams();
    if (show !== 'all') search.set('show', show);
    if (p > 1) search.set('page', String(p));
    const text = search.toString();
    return `${text ? `${base}?${text}` : base}#files`;
  };
  const count = (show: FileView['show']) =>
    show === 'all' ? d.entries.length : d.entries.filter((e) => e.outcome === show).length;
  return html`<h2 id="files">Files (${d.entries.length})</h2>
    <p class="muted file-filter">
      Show:
      ${SHOW.map(
        (s, i) =>
          html`${i ? ' · ' : ''}<a href="${link(s)}" data-show="${s}"
              >${s === view.show ? html`<strong>${s} (${count(s)})</strong>` : `${s} (${count(s)})`}</a
            >`,
      )}
    </p>
    ${d.jobsAvailable ? '' : html`<p class="muted">Job timings unavailable: Redis could not be read.</p>`}
    ${
      shown.length === 0
        ? html`<p class="notice">No ${view.show === 'all' ? '' : `${view.show} `}files recorded yet.</p>`
        : dataTable(
            [
              'Entry',
              'Outcome',
              '#Score',
              '#Length',
              'Convert',
              'Transcribe',
              'Recorded',
              'Transcript / reason',
            ],
            shown.map((e) => entryRow(e, b.unpackingAt)),
            'files',
          )
    }
    ${
      pages > 1
        ? html`<div class="pager files-pager">
            ${pageNo > 1 ? html`<a href="${link(view.show, pageNo - 1)}">← previous</a>` : ''}
            <span class="muted">page ${pageNo} of ${pages}</span>
            ${pageNo < pages ? html`<a href="${link(view.show, pageNo + 1)}">next →</a>` : ''}
          </div>`
        : ''
    }`;
}

function batchDetailBody(
  d: BatchDetail,
  options: { canAct: boolean; queued: string | undefined; view: FileView },
): SafeHtml {
  const b = d.batch;
  const flagged = d.entries.filter((e) => e.outcome === 'flagged').length;
  // The latest run's steps; the total runs to the first completion (or to the failure).
  const steps: [string, Date | null, Date | null][] = [
    ['Waiting for a host (transferred → unpacking)', b.transferredAt, b.unpackingAt],
    ['Extracting (unpacking → unpacked)', b.unpackingAt, b.unpackedAt],
    [
      'Transcribing and classifying (unpacked → complete)',
      b.unpackedAt,
      d.runs.at(-1)?.finishedAt ?? b.completedAt,
    ],
    ['Total (transferred → first completion)', b.transferredAt, b.completedAt ?? b.failedAt],
  ];
  return html`<p><a href="/batches">← all batches</a></p>
    <h1><span class="mono">${b.batchId}</span> ${badge(b.status)}</h1>
    ${actions(d, options)}
    <div class="cards">
      <div class="card">
        <div class="label">Files done</div>
        <div class="value">${b.filesDone} / ${b.totalEntries ?? '?'}</div>
        ${b.entriesRefused ? html`<div class="muted">${b.entriesRefused} entries refused by unpack</div>` : ''}
      </div>
      <div class="card">
        <div class="label">Failed entries</div>
        <div class="value">${b.filesFailed}</div>
      </div>
      <div class="card">
        <div class="label">Flagged for review</div>
        <div class="value">${flagged}</div>
      </div>
      <div class="card">
        <div class="label">Host</div>
        <div class="value">${b.host ?? '–'}</div>
      </div>
      <div class="card">
        <div class="label">Archive</div>
        <div class="value" style="font-size:14px">${formatBytes(b.sizeBytes)}</div>
        <div class="mono muted">${b.archiveKey}</div>
      </div>
    </div>
    ${
      b.batchError
        ? html`<h2>Batch failure</h2>
            <p class="problems"><strong>${b.batchError.code}</strong>: ${b.batchError.message}</p>`
        : ''
    }
    ${
      d.batchFailures.length > 1
        ? html`<ul>
            ${d.batchFailures.map((f) => html`<li>${f.stage}: ${f.reasonCode}: ${f.message}</li>`)}
          </ul>`
        : ''
    }
    <h2>Timings</h2>
    ${dataTable(
      ['Step', 'From', 'To', '#Took'],
      steps.map(
        ([label, from, to]) =>
          html`<tr>
            <td>${label}</td>
            <td>${formatTime(from)}</td>
            <td>${formatTime(to)}</td>
            <td class="num">${formatDuration(between(from, to))}</td>
          </tr>`,
      ),
    )}
    <h2>Runs</h2>
    ${
      d.runs.length === 0
        ? html`<p class="muted">No run recorded.</p>`
        : dataTable(
            ['Run', 'Scope', 'Host', 'Status', 'Started', 'Finished', '#Took', '#Files', '#Failed'],
            d.runs.map(
              (r, i) =>
                html`<tr>
                  <td>${i === 0 ? 'first' : `${r.scope === 'all' ? 'replay' : 'retry'} ${i}`}</td>
                  <td>${r.scope === 'all' ? 'whole archive' : 'failed files'}</td>
                  <td>${r.host}</td>
                  <td>
                    ${badge(r.status)}${r.errorCode ? html` <span class="muted">${r.errorCode}</span>` : ''}
                  </td>
                  <td>${formatTime(r.startedAt)}</td>
                  <td>${formatTime(r.finishedAt)}</td>
                  <td class="num">${formatDuration(between(r.startedAt, r.finishedAt))}</td>
                  <td class="num">${r.fileCount ?? '–'}</td>
                  <td class="num">${r.failedCount ?? '–'}</td>
                </tr>`,
            ),
            'runs',
          )
    }
    ${b.flow ? html`<p class="muted">Flow in BullMQ: finalize ${b.flow.finalizeState}; ${b.flow.processed} children done, ${b.flow.unprocessed} pending, ${b.flow.ignored} failed.</p>` : ''}
    ${filesSection(d, options.view)}`;
}
