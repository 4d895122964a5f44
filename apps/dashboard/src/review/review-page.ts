import type { RecentLabel, ReviewItem, ReviewProgress, TranscriptSegment, UndoableLabel } from '@audio/db';
import { formatDuration, formatTime } from '../views/display-format.js';
import { html, SafeHtml } from '../views/html-template.js';
import type { ReviewPolicy } from './review-policy.js';

/** The codebook a research assistant answers for each item. */
export const CODEBOOK = {
  violatesPolicy: ['yes', 'no', 'unsure'],
  category: ['threat', 'violence', 'harassment', 'hate', 'self-harm', 'sexual', 'other'],
} as const;

/** Answers that say the policy may apply ask for a category: required for yes, optional for unsure. */
export const CATEGORY_REQUIRED_FOR = ['yes'] as const;
export const CATEGORY_ASKED_FOR = ['yes', 'unsure'] as const;

/** The key of each answer (the category keys are 1…7 in codebook order). */
export const ANSWER_KEYS: Record<(typeof CODEBOOK.violatesPolicy)[number], string> = {
  yes: 'y',
  no: 'n',
  unsure: 'u',
};

export const SKIP_REASONS = [
  'audio does not load',
  'audio is unclear or too noisy',
  'not in a language I can judge',
  'I know the speaker',
  'other',
] as const;

/** What the form holds: answers as sent (a stale page gets them back), or from an undone label. */
export interface FormAnswers {
  violatesPolicy?: string | undefined;
  category?: string | undefined;
  notes?: string | undefined;
}

export interface ReviewSidebar {
  progress: ReviewProgress;
  recent: RecentLabel[];
  undoable: UndoableLabel | null;
  csrfToken: string;
}

export interface ItemPageOptions extends ReviewSidebar {
  item: ReviewItem;
  /** A presigned URL, or why there is no audio to play. */
  audio: { url: string } | { problem: string };
  policy: ReviewPolicy | { error: string };
  answers?: FormAnswers;
  /** A confirmation (saved, skipped, undone) above the item. */
  notice?: string | undefined;
  /** What went wrong with the last submission; shown as an alert. */
  error?: string | undefined;
  /** Link the batch and the file page (staff who may see them; reviewers must not see others' labels). */
  staffLinks?: boolean;
}

// Only the review page needs these; the layout's sheet stays the operators'.
const REVIEW_STYLE = new SafeHtml(`<style>
  .review-grid { display:grid; grid-template-columns:minmax(0, 3fr) minmax(320px, 2fr); gap:24px; align-items:start; }
  .review-progress { display:flex; flex-wrap:wrap; gap:8px 20px; margin:-6px 0 14px; color:var(--muted); }
  .review-progress b { color:var(--fg); font-variant-numeric:tabular-nums; }
  .meta { display:flex; flex-wrap:wrap; gap:6px 18px; color:var(--muted); margin-bottom:10px; }
  .meta b { color:var(--fg); font-weight:600; }
  .player { background:#fff; border:1px solid var(--line); border-radius:8px; padding:10px 12px; }
  .player audio { width:100%; }
  .player .controls { display:flex; gap:14px; align-items:center; margin-top:6px; color:var(--muted); }
  ol.segments { list-style:none; margin:0; padding:0; background:#fff; border:1px solid var(--line); border-radius:8px; }
  ol.segments li + li { border-top:1px solid var(--line); }
  button.segment { display:flex; gap:12px; width:100%; text-align:left; background:none; border:none; padding:8px 12px; font:inherit; font-size:15px; cursor:pointer; }
  button.segment:hover { background:#f0f4fb; }
  button.segment.playing { background:#e3ebfb; }
  button.segment .time { color:var(--muted); font-variant-numeric:tabular-nums; font-size:12.5px; min-width:86px; padding-top:2px; }
  kbd { display:inline-block; min-width:18px; padding:0 5px; border:1px solid #b9c0ce; border-bottom-width:2px; border-radius:4px; background:#f6f7fa; font:12px ui-monospace, monospace; text-align:center; color:var(--fg); }
  .side-box { background:#fff; border:1px solid var(--line); border-radius:8px; padding:10px 14px; margin-top:14px; }
  .side-box summary { cursor:pointer; font-weight:600; }
  .policy-text { font-size:13px; max-height:360px; overflow:auto; }
  .policy-text p { white-space:pre-wrap; margin:0; }
  .policy-text h3 { font-size:13px; margin:10px 0 2px; }
  .alert { background:#fbe1df; border:1px solid #efb5ae; color:#7a1a14; padding:10px 14px; border-radius:8px; margin-bottom:12px; font-weight:600; }
  .ok-notice { background:#dff3e3; border:1px solid #b5dfbd; color:#14532d; padding:8px 14px; border-radius:8px; margin-bottom:12px; display:flex; gap:12px; align-items:center; }
  .ok-notice form { margin:0; }
  button.secondary { background:#fff; color:var(--fg); border:1px solid #b9c0ce; border-radius:6px; padding:6px 12px; font:inherit; cursor:pointer; }
  [hidden] { display:none !important; }
  table.shortcuts td { padding:3px 8px; border:none; }
  @media (max-width: 900px) { .review-grid { grid-template-columns:1fr; } }
</style>`);

const SHORTCUTS: [string, string][] = [
  ['Y N U', 'violates the policy: yes, no, unsure'],
  ['1 … 7', `category: ${CODEBOOK.category.join(', ')}`],
  ['Space or K', 'play / pause'],
  ['J L or ← →', 'back / forward 5 s'],
  ['[ ]', 'slower / faster'],
  ['Enter', 'save and next (Ctrl+Enter in the notes)'],
  ['S', 'skip, with a reason'],
  ['Z', 'undo the last label'],
  ['Esc', 'leave the notes field'],
];

/** `m:ss` for a position in the audio. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function progressLine(progress: ReviewProgress): SafeHtml {
  return html`<div class="review-progress" id="review-progress">
    <span>Waiting for you <b>${progress.waiting}</b></span>
    <span>Done today by you <b>${progress.doneToday}</b></span>
    <span>Skipped today <b>${progress.skippedToday}</b></span>
    <span>Held by other reviewers <b>${progress.heldByOthers}</b></span>
  </div>`;
}

function undoForm(undoable: UndoableLabel | null, csrfToken: string): SafeHtml | string {
  if (!undoable) return '';
  return html`<form method="post" action="/review/undo" id="undo-form">
    <input type="hidden" name="_csrf" value="${csrfToken}" />
    <button type="submit" class="secondary">
      Undo the label of ${undoable.originalFilename} <kbd>Z</kbd>
    </button>
    <span class="muted">until ${formatTime(undoable.until)}</span>
  </form>`;
}

function noticeBox(notice: string | undefined, sidebar: ReviewSidebar): SafeHtml | string {
  if (!notice)
    return sidebar.undoable
      ? html`<div class="ok-notice">${undoForm(sidebar.undoable, sidebar.csrfToken)}</div>`
      : '';
  return html`<div class="ok-notice" role="status">
    <span>${notice}</span>${undoForm(sidebar.undoable, sidebar.csrfToken)}
  </div>`;
}

function recentTable(recent: RecentLabel[]): SafeHtml {
  if (recent.length === 0) return html`<p class="muted">No labels yet.</p>`;
  return html`<table id="recent-labels">
    <thead>
      <tr>
        <th>File</th>
        <th>Violates</th>
        <th>Category</th>
        <th>Notes</th>
        <th>When</th>
      </tr>
    </thead>
    <tbody>
      ${recent.map(
        (r) =>
          html`<tr>
            <td class="entry">${r.originalFilename}</td>
            <td>${String(r.answers.violatesPolicy ?? '–')}</td>
            <td>${String(r.answers.category ?? '–')}</td>
            <td>${r.notes ?? ''}</td>
            <td>${formatTime(r.labelledAt)}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function transcriptBlock(item: ReviewItem): SafeHtml {
  if (item.segments.length === 0) {
    return html`<div class="transcript">${item.transcript || '(no transcript)'}</div>`;
  }
  return html`<ol class="segments" id="segments">
    ${item.segments.map(
      (s: TranscriptSegment) =>
        html`<li>
          <button type="button" class="segment" data-start="${s.start}" data-end="${s.end}">
            <span class="time">${clock(s.start)}–${clock(s.end)}</span><span>${s.text}</span>
          </button>
        </li>`,
    )}
  </ol>`;
}

function policyBox(item: ReviewItem, policy: ReviewPolicy | { error: string }): SafeHtml {
  if ('error' in policy) {
    return html`<details class="side-box" open>
      <summary>Policy</summary>
      <p class="error">The policy text cannot be shown: ${policy.error}</p>
    </details>`;
  }
  const other = item.policyIds.filter((id) => id !== policy.id);
  return html`<details class="side-box" id="policy" open>
    <summary>Policy: ${policy.title} <span class="muted">(${policy.id} ${policy.version})</span></summary>
    ${
      other.length > 0
        ? html`<p class="muted">Flagged under ${other.join(', ')}; shown is the active policy.</p>`
        : ''
    }
    <div class="policy-text">
      ${policy.sections.map(
        (s) =>
          html`<h3>${s.name}</h3>
            <p>${s.text}</p>`,
      )}
    </div>
  </details>`;
}

function audioBlock(audio: ItemPageOptions['audio']): SafeHtml {
  const skipHint = html`Skip it with the reason "audio does not load" (<kbd>S</kbd>), or reload the page to
  try again.`;
  if ('problem' in audio) {
    return html`<div class="alert" role="alert" id="audio-problem">
      The audio of this file cannot be loaded: ${audio.problem}. ${skipHint}
    </div>`;
  }
  return html`<div class="player">
    <audio id="player" controls preload="auto" src="${audio.url}"></audio>
    <div class="controls">
      <label
        >Speed
        <select id="speed">
          ${[0.5, 0.75, 1, 1.25, 1.5, 1.75, 2].map(
            (r) => html`<option value="${r}" ${r === 1 ? new SafeHtml('selected') : ''}>${r}×</option>`,
          )}
        </select></label
      >
      <span
        ><kbd>Space</kbd> play/pause · <kbd>[</kbd> <kbd>]</kbd> speed · click a line to play from it</span
      >
    </div>
    <div class="alert" role="alert" id="audio-error" hidden>
      The audio of this file could not be loaded (the stored copy is missing or unreadable, or its link
      expired). ${skipHint}
    </div>
  </div>`;
}

function labelForm(item: ReviewItem, answers: FormAnswers, csrfToken: string): SafeHtml {
  const checked = (on: boolean) => (on ? new SafeHtml('checked') : '');
  const categoryAsked =
    !answers.violatesPolicy || (CATEGORY_ASKED_FOR as readonly string[]).includes(answers.violatesPolicy);
  return html`<form
    method="post"
    action="/review/${item.audioFileId}"
    class="stack"
    id="label-form"
    data-item="${item.audioFileId}"
  >
    <input type="hidden" name="_csrf" value="${csrfToken}" />
    <fieldset>
      <legend>Violates the policy?</legend>
      ${CODEBOOK.violatesPolicy.map(
        (v) =>
          html`<label
            ><input
              type="radio"
              name="violatesPolicy"
              value="${v}"
              required
              ${checked(answers.violatesPolicy === v)}
            />
            ${v} <kbd>${ANSWER_KEYS[v].toUpperCase()}</kbd></label
          >`,
      )}
    </fieldset>
    <label id="category-field" ${categoryAsked ? '' : new SafeHtml('hidden')}
      >Category
      <span class="muted" id="category-hint">(required when it violates, optional when unsure)</span>
      <select name="category">
        <option value="">choose…</option>
        ${CODEBOOK.category.map(
          (c, i) =>
            html`<option value="${c}" ${answers.category === c ? new SafeHtml('selected') : ''}>
              ${i + 1} · ${c}
            </option>`,
        )}
      </select></label
    >
    <label>Notes <textarea name="notes" rows="3" maxlength="4000">${answers.notes ?? ''}</textarea></label>
    <div>
      <button type="submit" class="primary">Save and next <kbd>Enter</kbd></button>
    </div>
  </form>`;
}

function skipPanel(item: ReviewItem, csrfToken: string): SafeHtml {
  return html`<details class="side-box" id="skip-panel">
    <summary>Skip this item <kbd>S</kbd></summary>
    <form method="post" action="/review/${item.audioFileId}/skip" id="skip-form" class="stack">
      <input type="hidden" name="_csrf" value="${csrfToken}" />
      <label
        >Reason
        <select name="reason" required>
          ${SKIP_REASONS.map((r) => html`<option value="${r}">${r}</option>`)}
        </select></label
      >
      <label
        >Details <span class="muted">(optional)</span><input type="text" name="details" maxlength="400"
      /></label>
      <div><button type="submit" class="secondary">Skip; it will not be offered to you again</button></div>
    </form>
  </details>`;
}

function shortcutsBox(): SafeHtml {
  return html`<details class="side-box" id="shortcuts">
    <summary>Keyboard shortcuts <kbd>?</kbd></summary>
    <table class="shortcuts">
      ${SHORTCUTS.map(
        ([keys, what]) =>
          html`<tr>
            <td><kbd>${keys}</kbd></td>
            <td>${what}</td>
          </tr>`,
      )}
    </table>
  </details>`;
}

export function itemPageBody(options: ItemPageOptions): SafeHtml {
  const { item } = options;
  return html`${REVIEW_STYLE}
    <h1>Review <span class="muted mono">${item.originalFilename}</span></h1>
    ${progressLine(options.progress)}
    ${options.error ? html`<div class="alert" role="alert" id="submit-error">${options.error}</div>` : ''}
    ${noticeBox(options.notice, options)}
    <div class="review-grid">
      <section>
        <div class="meta">
          <span>Score <b>${item.score.toFixed(2)}</b></span>
          <span>Policies <b>${item.policyIds.join(', ')}</b></span>
          <span
            >Batch
            ${
              options.staffLinks
                ? html`<a class="mono" href="/batches/${item.batchId}"><b>${item.batchId}</b></a> ·
                    <a href="/files/${item.audioFileId}" id="file-record">the file's record and labels</a>`
                : html`<b class="mono">${item.batchId}</b>`
            }</span
          >
          <span>Flagged <b>${formatTime(item.flaggedAt)}</b></span>
          ${item.language ? html`<span>Language <b>${item.language}</b></span>` : ''}
          ${item.durationSeconds ? html`<span>Length <b>${formatDuration(item.durationSeconds * 1000)}</b></span>` : ''}
          ${item.leaseExpiresAt ? html`<span>Yours until <b>${formatTime(item.leaseExpiresAt)}</b></span>` : ''}
        </div>
        ${audioBlock(options.audio)}
        <h2>Transcript</h2>
        ${transcriptBlock(item)}
      </section>
      <aside>
        ${labelForm(item, options.answers ?? {}, options.csrfToken)} ${skipPanel(item, options.csrfToken)}
        ${policyBox(item, options.policy)} ${shortcutsBox()}
      </aside>
    </div>
    <h2>My recent labels</h2>
    ${recentTable(options.recent)}
    <script src="/review/assets/review-page.js"></script>`;
}

/**
 * The page without an item: nothing waiting, an item that is no longer the reviewer's, or (for staff)
 * the start button, since opening the page must not take an item out of the reviewers' queue.
 */
export function startPageBody(
  options: ReviewSidebar & {
    message: SafeHtml | string;
    notice?: string | undefined;
    offerStart: boolean;
    alert?: boolean;
  },
): SafeHtml {
  return html`${REVIEW_STYLE}
    <h1>Review</h1>
    ${progressLine(options.progress)} ${noticeBox(options.notice, options)}
    <div class="${options.alert ? 'alert' : 'notice'}" ${options.alert ? new SafeHtml('role="alert"') : ''}>
      ${options.message}
    </div>
    ${
      options.offerStart
        ? html`<form method="post" action="/review/claim" style="margin-top:14px">
            <input type="hidden" name="_csrf" value="${options.csrfToken}" />
            <button type="submit" class="primary">Start reviewing</button>
            <span class="muted"
              >leases the oldest waiting item to you; other reviewers then get the next ones</span
            >
          </form>`
        : html`<p><a href="/review">Check again</a></p>`
    }
    <h2>My recent labels</h2>
    ${recentTable(options.recent)}
    <script src="/review/assets/review-page.js"></script>`;
}
