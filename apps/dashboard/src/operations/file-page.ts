import { Router } from 'express';
import {
  FileRecordQueries,
  isAudioFileId,
  type Db,
  type FileClassification,
  type FileLabel,
  type FileRecord,
  type ReviewSample,
} from '@audio/db';
import type { Logger } from '@audio/logger';
import { batchJobIds, hostQueueName } from '@audio/queues';
import type { ObjectStore } from '@audio/storage';
import { requirePermission } from '../auth/access-control.js';
import type { CsrfProtection } from '../auth/csrf-protection.js';
import { opusAudioLink } from '../review/opus-audio-link.js';
import { dataTable } from '../views/data-table.js';
import { formatBytes, formatDuration, formatTime } from '../views/display-format.js';
import { html, type SafeHtml } from '../views/html-template.js';
import { errorPage, renderPage } from '../views/page-layout.js';
import { badge, jobCell, pathWithBreaks } from './batch-pages.js';
import type { BatchOverview, JobTiming } from './batch-overview.js';

export interface FilePageOptions {
  db: Db;
  overview: BatchOverview;
  store: ObjectStore;
  csrf: CsrfProtection;
  audioUrlTtlSeconds: number;
  logger: Logger;
}

type Jobs = Awaited<ReturnType<BatchOverview['entryJobs']>>;

const SAMPLE_TEXT: Record<ReviewSample, string> = {
  flagged: 'flagged: one review',
  double: 'double review: two reviewers',
  control: 'control sample (not flagged)',
};

const ref = (p: { id: string; version: string }) => `${p.id}@${p.version}`;

/**
 * GET /files/:audioFileId: one audio file with everything recorded about it (batch, results, jobs,
 * failures) and every reviewer's label. Staff only (operations:read): reviewers label independently
 * and must not see each other's labels, as on the research pages and their exports.
 */
export function createFilePage(options: FilePageOptions): Router {
  const router = Router();
  const records = new FileRecordQueries(options.db);
  const { csrf } = options;

  router.get('/files/:audioFileId', requirePermission('operations:read', 'page'), async (req, res) => {
    const id = String(req.params.audioFileId);
    const fail = (status: number, message: string) =>
      res.status(status).send(
        errorPage({
          status,
          message,
          user: res.locals.user,
          csrfToken: csrf.token(req),
          back: { href: '/batches', label: 'All batches' },
        }),
      );
    if (!isAudioFileId(id))
      return fail(400, `“${id}” is not a file id: file ids are UUIDs (the batch page links to each file).`);
    const record = await records.get(id);
    if (!record) return fail(404, `There is no audio file ${id}.`);
    const [jobs, audio] = await Promise.all([
      options.overview.entryJobs(record.batch, record.file.originalFilename),
      opusAudioLink(
        { store: options.store, ttlSeconds: options.audioUrlTtlSeconds, logger: options.logger },
        { audioFileId: id, s3OpusPath: record.file.s3OpusPath },
      ),
    ]);
    res.send(
      renderPage({
        title: `File ${record.file.originalFilename}`,
        section: 'batches',
        user: res.locals.user,
        csrfToken: csrf.token(req),
        body: fileBody(record, jobs, audio),
      }),
    );
  });

  return router;
}

function outcomeOf(r: FileRecord): SafeHtml {
  return r.classifications.some((c) => c.flagged) ? badge('flagged') : badge('ok');
}

function reviewState(r: FileRecord): SafeHtml {
  const labelled = r.labels.length;
  if (r.queue) {
    const missing = r.queue.reviewsRequired - labelled;
    const held = r.queue.heldBy
      ? html`; held by <b>${r.queue.heldBy}</b> until ${formatTime(r.queue.leaseExpiresAt)}`
      : '';
    return html`waiting for ${missing} more label${missing === 1 ? '' : 's'} (${r.queue.sample})${held}`;
  }
  if (labelled > 0) return html`${labelled} label${labelled === 1 ? '' : 's'}, review done`;
  return html`<span class="muted">not sent to review</span>`;
}

function card(label: string, value: unknown, extra: unknown = ''): SafeHtml {
  return html`<div class="card">
    <div class="label">${label}</div>
    <div class="value" style="font-size:15px">${value}</div>
    ${extra}
  </div>`;
}

function audioBlock(audio: { url: string } | { problem: string }): SafeHtml {
  if ('problem' in audio)
    return html`<p class="warnings" id="audio-problem">The audio cannot be played: ${audio.problem}.</p>`;
  return html`<audio id="player" controls preload="none" src="${audio.url}" style="width:100%"></audio>`;
}

function jobsBlock(r: FileRecord, jobs: Jobs): SafeHtml {
  if (!jobs.available) return html`<p class="muted">Jobs unavailable: Redis could not be read.</p>`;
  const row = (step: string, t: JobTiming | null) =>
    html`<tr>
      <td>${step}</td>
      <td class="mono">${t ? t.jobId : '–'}</td>
      <td>${jobCell(t)}</td>
      <td>${t ? formatTime(t.queuedAt) : '–'}</td>
      <td>${t?.failure ? html`<strong>${t.failure.code}</strong>: ${t.failure.message}` : ''}</td>
    </tr>`;
  if (!r.batch.host) return html`<p class="muted">No host has taken this batch: it has no jobs yet.</p>`;
  return html`${
      jobs.convert || jobs.transcribe
        ? dataTable(
            ['Step', 'Job', 'Ran (opens the job)', 'Queued', 'Last failure'],
            [row('convert', jobs.convert), row('transcribe', jobs.transcribe)],
            'jobs',
          )
        : html`<p class="muted">
            The jobs of this file are no longer in Redis (BullMQ keeps finished jobs a day); the results below
            are the database's.
          </p>`
    }
    <p class="muted">
      The batch's flow:
      <a
        href="/board/queue/${encodeURIComponent(hostQueueName('finalize', r.batch.host))}/${encodeURIComponent(
          batchJobIds(r.batch.batchId, 0).finalize,
        )}"
        >its finalize job in Bull Board</a
      >
      · the file among the others on
      <a href="/batches/${encodeURIComponent(r.batch.batchId)}#files">its batch page</a>
    </p>`;
}

function classificationRow(c: FileClassification): SafeHtml {
  return html`<tr>
    <td class="mono">
      <a
        href="/research/evaluation?policy=${encodeURIComponent(ref({ id: c.policyId, version: c.policyVersion }))}"
        >${c.policyId}@${c.policyVersion}</a
      >
      ${c.policy?.active ? badge('active', 'ok') : ''}
    </td>
    <td>${c.policy?.title ?? html`<span class="muted">not a stored version</span>`}</td>
    <td>${c.flagged ? badge('flagged') : 'not flagged'}</td>
    <td class="num">${c.score.toFixed(2)}</td>
    <td>${c.sample ? SAMPLE_TEXT[c.sample] : html`<span class="muted">not sampled</span>`}</td>
    <td class="mono">${c.model}</td>
    <td>${formatTime(c.createdAt)}</td>
  </tr>`;
}

function labelSample(l: FileLabel): SafeHtml | string {
  if (l.sample === 'double') return html`double review (${l.position} of 2)`;
  if (l.sample === 'control') return 'control sample';
  if (l.sample === 'flagged') return 'flagged';
  return html`<span class="muted">–</span>`;
}

function labelRow(l: FileLabel): SafeHtml {
  const category = typeof l.answers.category === 'string' ? l.answers.category : null;
  const violates = typeof l.answers.violatesPolicy === 'string' ? l.answers.violatesPolicy : '–';
  return html`<tr data-label="${l.id}">
    <td class="num">${l.position}</td>
    <td>${l.reviewer} <span class="muted">(${l.reviewerRole})</span></td>
    <td>
      ${violates === 'yes' ? badge('yes', 'bad') : violates === 'no' ? badge('no', 'ok') : badge(violates, 'warn')}
    </td>
    <td>${category ?? html`<span class="muted">–</span>`}</td>
    <td class="notes" style="white-space:pre-wrap;overflow-wrap:anywhere">${l.notes ?? ''}</td>
    <td>
      ${formatTime(l.createdAt)}
      ${l.updatedAt.getTime() !== l.createdAt.getTime() ? html`<div class="muted">changed ${formatTime(l.updatedAt)}</div>` : ''}
    </td>
    <td class="mono">${l.policy ? ref(l.policy) : html`<span class="muted">none active</span>`}</td>
    <td>${labelSample(l)}</td>
  </tr>`;
}

function fileBody(r: FileRecord, jobs: Jobs, audio: { url: string } | { problem: string }): SafeHtml {
  const f = r.file;
  const batchHref = `/batches/${encodeURIComponent(r.batch.batchId)}`;
  return html`<p class="muted">
      <a href="/batches">Batches</a> / <a class="mono" href="${batchHref}">${r.batch.batchId}</a> / file
    </p>
    <h1 class="entry"><span class="mono">${pathWithBreaks(f.originalFilename)}</span></h1>
    <div class="cards">
      ${card('Outcome', outcomeOf(r))} ${card('Review', reviewState(r))}
      ${card('Batch', html`<a class="mono" href="${batchHref}">${r.batch.batchId}</a>`, html`<div class="muted">${badge(r.batch.status)} ${r.batch.source}</div>`)}
      ${card('Length', f.durationSeconds === null ? '–' : formatDuration(f.durationSeconds * 1000), html`<div class="muted">${formatBytes(f.sizeBytes)} MP3</div>`)}
      ${card('Recorded', formatTime(f.createdAt))}
    </div>
    <p class="muted mono">id ${f.id} · sha256 ${f.sha256} · ${f.s3OpusPath ?? 'no Opus copy yet'}</p>
    <h2>Audio</h2>
    ${audioBlock(audio)}
    <h2>Transcript</h2>
    ${
      r.transcript
        ? html`<p class="muted">${r.transcript.language} · ${r.transcript.model}</p>
            <div class="transcript" id="transcript">${r.transcript.text || '(empty)'}</div>`
        : html`<p class="notice">No transcript recorded.</p>`
    }
    <h2>Classifications</h2>
    ${
      r.classifications.length
        ? dataTable(
            ['Policy version', 'Title', 'Verdict', '#Score', 'Review sample', 'Model', 'Classified'],
            r.classifications.map(classificationRow),
            'classifications',
          )
        : html`<p class="notice">Not classified.</p>`
    }
    ${
      r.failures.length
        ? html`<h2>Failures</h2>
            ${dataTable(
              ['Stage', 'Reason', 'Message', '#Attempts', 'Last'],
              r.failures.map(
                (x) =>
                  html`<tr>
                    <td>${x.stage}</td>
                    <td><strong>${x.reasonCode}</strong></td>
                    <td>${x.message}</td>
                    <td class="num">${x.attempts}</td>
                    <td>${formatTime(x.updatedAt)}</td>
                  </tr>`,
              ),
              'failures',
            )}
            <p class="muted">
              Recorded for this archive entry; the file has results, so a later attempt succeeded.
            </p>`
        : ''
    }
    <h2>Jobs</h2>
    ${jobsBlock(r, jobs)}
    <h2 id="labels">Labels (${r.labels.length})</h2>
    ${
      r.labels.length
        ? dataTable(
            [
              '##',
              'Reviewer',
              'Violates the policy?',
              'Category',
              'Notes',
              'Labelled',
              'Policy version',
              'Sample',
            ],
            r.labels.map(labelRow),
            'labels',
          )
        : html`<p class="notice">No labels yet.</p>`
    }
    <p class="muted">
      Labels do not name a policy version: shown is the version active when the label was saved (from the
      versions' activation times), and the review sample the file was in under it. This file's draw is
      ${r.draw.toFixed(3)}: it goes to a second reviewer when flagged and below a version's double-review
      share, and into the control sample when not flagged and below its control share.
    </p>`;
}
