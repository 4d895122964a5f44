import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Router, type Request, type Response } from 'express';
import { PolicyRepository, ResearchQueries, type Db, type Policy } from '@audio/db';
import { requirePermission } from '../auth/access-control.js';
import type { CsrfProtection } from '../auth/csrf-protection.js';
import { CODEBOOK } from '../review/review-routes.js';
import { dataTable } from '../views/data-table.js';
import { formatTime } from '../views/display-format.js';
import { html, type SafeHtml } from '../views/html-template.js';
import { renderPage } from '../views/page-layout.js';
import type { Kappa, Proportion } from './evaluation-statistics.js';
import { CONTENT_TYPES, labelExportChunks, type LabelExportFormat } from './label-export-format.js';
import { evaluatePolicy } from './policy-evaluation.js';

export interface ResearchRoutesOptions {
  db: Db;
  csrf: CsrfProtection;
}

const ref = (p: { id: string; version: string }) => `${p.id}@${p.version}`;
const percent = (x: number) => `${(100 * x).toFixed(1)}%`;
const rate = (n: number, of: number) => (of > 0 ? percent(n / of) : '—');

function interval(p: Proportion | null): SafeHtml {
  if (!p) return html`<span class="muted">no reviews yet</span>`;
  return html`${percent(p.estimate)}
    <span class="muted">(${p.successes}/${p.n}; 95% Wilson ${percent(p.low)}–${percent(p.high)})</span>`;
}

function kappaText(k: Kappa | null): SafeHtml {
  if (!k) return html`<span class="muted">no double reviews yet</span>`;
  const value = k.kappa === null ? '—' : k.kappa.toFixed(2);
  return html`κ = ${value}
    <span class="muted"
      >(${k.n} pairs, agreement ${percent(k.observed)}, by chance ${percent(k.expected)})</span
    >`;
}

function card(label: string, value: unknown): SafeHtml {
  return html`<div class="card">
    <div class="label">${label}</div>
    <div class="value" style="font-size:16px">${value}</div>
  </div>`;
}

/**
 * The researchers' pages (operations:read): policy versions, two versions compared, a version
 * evaluated against the reviewers' labels, and the label exports.
 */
export function createResearchRoutes(options: ResearchRoutesOptions): Router {
  const router = Router();
  const policies = new PolicyRepository(options.db);
  const research = new ResearchQueries(options.db);
  const allowed = requirePermission('operations:read', 'page');
  const page = (req: Request, res: Response, title: string, body: SafeHtml) =>
    renderPage({
      title,
      section: 'research',
      user: res.locals.user,
      csrfToken: options.csrf.token(req),
      body,
    });

  /** The version a query parameter names (VERSION or ID@VERSION); undefined when it names none. */
  async function policyParam(value: unknown): Promise<Policy | undefined> {
    if (typeof value !== 'string' || !value) return undefined;
    return policies.find(value).catch(() => undefined);
  }

  router.get('/research', allowed, async (req, res) => {
    const versions = await policies.list();
    const active = versions.find((p) => p.active);
    const rows = versions.map(
      (p) =>
        html`<tr>
          <td class="mono">${ref(p)} ${p.active ? html`<span class="badge ok">active</span>` : ''}</td>
          <td>${p.title}</td>
          <td class="num">${p.classified}</td>
          <td class="num">${p.flagged} (${rate(p.flagged, p.classified)})</td>
          <td class="num">${percent(p.doubleReviewShare)} / ${percent(p.controlShare)}</td>
          <td>${formatTime(p.createdAt)}</td>
          <td>
            <a href="/research/evaluation?policy=${encodeURIComponent(ref(p))}">evaluation</a>
            ${active && !p.active ? html` · <a href="/research/compare?a=${encodeURIComponent(ref(active))}&b=${encodeURIComponent(ref(p))}">compare with active</a>` : ''}
            · <a href="/research/labels.csv?policy=${encodeURIComponent(ref(p))}">labels.csv</a> ·
            <a href="/research/labels.jsonl?policy=${encodeURIComponent(ref(p))}">labels.jsonl</a>
          </td>
        </tr>`,
    );
    const options_ = versions.map((p) => html`<option value="${ref(p)}">${ref(p)}</option>`);
    res.send(
      page(
        req,
        res,
        'Policies',
        html`<h1>Policy versions</h1>
          ${dataTable(['Version', 'Title', '#Classified', '#Flagged', '#Double review / control', 'Stored', ''], rows)}
          <h2>Compare two versions</h2>
          <form
            method="get"
            action="/research/compare"
            class="stack"
            style="flex-direction:row;align-items:end"
          >
            <label
              >From
              <select name="a">
                ${options_}
              </select></label
            >
            <label
              >To
              <select name="b">
                ${options_}
              </select></label
            >
            <button type="submit" class="primary">Compare</button>
          </form>
          <p class="muted">
            Exports of every label: <a href="/research/labels.csv">labels.csv</a> ·
            <a href="/research/labels.jsonl">labels.jsonl</a>. Add versions with
            <span class="mono">pnpm policy add FILE</span>, re-classify stored transcripts with
            <span class="mono">pnpm reclassify --policy VERSION</span>.
          </p>`,
      ),
    );
  });

  router.get('/research/compare', allowed, async (req, res) => {
    const [a, b] = await Promise.all([policyParam(req.query.a), policyParam(req.query.b)]);
    if (!a || !b) {
      return res
        .status(404)
        .type('text/plain')
        .send(`no stored policy version ${String(!a ? req.query.a : req.query.b)}\n`);
    }
    const c = await research.compare(a, b);
    const rows = c.changed.map(
      (item) =>
        html`<tr>
          <td class="entry mono">
            <a href="/files/${item.audioFileId}">${item.batchId}/${item.originalFilename}</a>
          </td>
          <td>
            ${item.flaggedA ? html`<span class="badge flagged">flagged</span>` : 'not flagged'}
            <span class="muted">${item.scoreA.toFixed(2)}</span>
          </td>
          <td>
            ${item.flaggedB ? html`<span class="badge flagged">flagged</span>` : 'not flagged'}
            <span class="muted">${item.scoreB.toFixed(2)}</span>
          </td>
          <td>${item.transcript}</td>
        </tr>`,
    );
    res.send(
      page(
        req,
        res,
        'Compare versions',
        html`<h1>${ref(a)} → ${ref(b)}</h1>
          <div class="cards">
            ${card(`Flag rate ${ref(a)}`, `${rate(c.flaggedA, c.classifiedA)} (${c.flaggedA} of ${c.classifiedA})`)}
            ${card(`Flag rate ${ref(b)}`, `${rate(c.flaggedB, c.classifiedB)} (${c.flaggedB} of ${c.classifiedB})`)}
            ${card('Classified by both', c.both)}
            ${card('Verdict changed', `${c.onlyA + c.onlyB}: ${c.onlyA} no longer flagged, ${c.onlyB} newly flagged`)}
          </div>
          <h2>Files whose verdict changed</h2>
          ${c.changed.length ? dataTable(['File', ref(a), ref(b), 'Transcript'], rows) : html`<p class="notice">No verdict changed.</p>`}
          ${c.onlyA + c.onlyB > c.changed.length ? html`<p class="muted">The first ${c.changed.length} shown.</p>` : ''}`,
      ),
    );
  });

  router.get('/research/evaluation', allowed, async (req, res) => {
    const policy = await policyParam(req.query.policy);
    if (!policy)
      return res
        .status(404)
        .type('text/plain')
        .send(`no stored policy version ${String(req.query.policy)}\n`);
    const [counts, verdicts] = await Promise.all([
      research.versionCounts(policy),
      research.reviewedVerdicts(policy),
    ]);
    const categories = [...CODEBOOK.category];
    const e = evaluatePolicy(verdicts, counts, policy.controlShare, categories);
    const categoryRows = e.agreement.categories.map(
      (c) =>
        html`<tr>
          <td>${c.category}</td>
          <td>${kappaText(c.kappa)}</td>
        </tr>`,
    );
    res.send(
      page(
        req,
        res,
        'Evaluation',
        html`<h1>Evaluation of <span class="mono">${ref(policy)}</span></h1>
          <div class="cards">
            ${card('Classified', e.classified)}
            ${card('Flagged', `${e.flagged} (${rate(e.flagged, e.classified)})`)}
            ${card('Flagged reviewed', `${e.flaggedReviewed} (+${e.flaggedUnsure} unsure)`)}
            ${card('Control reviewed', `${e.controlReviewed} (+${e.controlUnsure} unsure)`)}
            ${card('Double reviewed', e.doubleReviewed)}
          </div>
          <h2>Against the reviewers</h2>
          <table>
            <tbody>
              <tr>
                <th>Precision of flags</th>
                <td data-metric="precision">${interval(e.precision)}</td>
              </tr>
              <tr>
                <th>Miss rate (control sample)</th>
                <td data-metric="miss-rate">${interval(e.missRate)}</td>
              </tr>
              <tr>
                <th>Estimated recall</th>
                <td data-metric="recall">
                  ${
                    e.recall
                      ? html`${percent(e.recall.estimate)}
                          <span class="muted"
                            >(interval ${percent(e.recall.low)}–${percent(e.recall.high)} from the ends of the
                            two Wilson intervals; ≈${e.recall.truePositives.toFixed(1)} true flags,
                            ≈${e.recall.misses.toFixed(1)} missed among ${e.unflagged} unflagged)</span
                          >`
                      : html`<span class="muted"
                          >needs reviewed flagged items and a reviewed control sample</span
                        >`
                  }
                </td>
              </tr>
              <tr>
                <th>Agreement: violates the policy?</th>
                <td data-metric="kappa">${kappaText(e.agreement.violatesPolicy)}</td>
              </tr>
            </tbody>
          </table>
          <h2>Agreement per category (one against the rest; Cohen's κ)</h2>
          ${dataTable(['Category', 'κ'], categoryRows)}
          <p class="muted">
            Precision: the first reviewer's yes/no on flagged files (unsure left out). Control: unflagged
            files whose draw from their id is below this version's control share
            (${percent(policy.controlShare)}); the miss rate is the share of them reviewers said violate the
            policy. A second reviewer labels ${percent(policy.doubleReviewShare)} of flagged files while this
            version is active. For a version that was never active, only files other versions sent to review
            count.
          </p>`,
      ),
    );
  });

  // Streamed: the response starts with the first rows; a client that goes away stops the cursor.
  router.get(/^\/research\/labels\.(csv|jsonl)$/, allowed, async (req, res) => {
    const format = req.params[0] as LabelExportFormat;
    let policy: Policy | undefined;
    if (req.query.policy !== undefined) {
      policy = await policyParam(req.query.policy);
      if (!policy)
        return res
          .status(404)
          .type('text/plain')
          .send(`no stored policy version ${String(req.query.policy)}\n`);
    }
    const name = `labels${policy ? `-${policy.id}-${policy.version}` : ''}.${format}`.replace(
      /[^\w.@-]/g,
      '_',
    );
    res.type(CONTENT_TYPES[format]).set('Content-Disposition', `attachment; filename="${name}"`);
    await pipeline(Readable.from(labelExportChunks(options.db, format, policy ? { policy } : {})), res);
  });

  return router;
}
