import { reviewDraw, type ReviewedVerdict } from '@audio/db';
import {
  cohensKappa,
  estimateRecall,
  wilsonInterval,
  type Kappa,
  type Proportion,
  type RecallEstimate,
} from './evaluation-statistics.js';

export interface PolicyEvaluation {
  classified: number;
  flagged: number;
  unflagged: number;
  /** Flagged files with a yes/no first answer (unsure ones are left out), and the share the reviewer confirmed. */
  precision: Proportion | null;
  flaggedReviewed: number;
  flaggedUnsure: number;
  /** Unflagged files in the control sample (draw below the control share) that were reviewed. */
  controlReviewed: number;
  controlUnsure: number;
  /** Share of reviewed control files the reviewer said violate the policy: what the flags miss. */
  missRate: Proportion | null;
  recall: RecallEstimate | null;
  /** Files with two labels, and the two reviewers' agreement on them. */
  doubleReviewed: number;
  agreement: { violatesPolicy: Kappa | null; categories: { category: string; kappa: Kappa | null }[] };
}

type Answer = 'yes' | 'no' | 'unsure' | undefined;

function answerOf(label: { answers: Record<string, unknown> } | undefined): Answer {
  const value = label?.answers.violatesPolicy;
  return value === 'yes' || value === 'no' || value === 'unsure' ? value : undefined;
}

/** A category only counts with a "yes"; otherwise the item has none. */
function categoryOf(label: { answers: Record<string, unknown> }): string {
  const category = label.answers.category;
  return answerOf(label) === 'yes' && typeof category === 'string' ? category : 'none';
}

/**
 * A policy version against its reviewers. Each file's verdict is checked against its first label (the
 * second reviewer of a double-reviewed file only measures agreement). Control files are the unflagged
 * files whose draw is below the version's control share, whatever brought them to review, so the miss
 * rate is estimated from a random sample of the unflagged files.
 */
export function evaluatePolicy(
  verdicts: readonly ReviewedVerdict[],
  counts: { classified: number; flagged: number },
  controlShare: number,
  categories: readonly string[],
): PolicyEvaluation {
  let confirmed = 0;
  let flaggedReviewed = 0;
  let flaggedUnsure = 0;
  let missed = 0;
  let controlReviewed = 0;
  let controlUnsure = 0;
  const pairs: [ReviewedVerdict['labels'][number], ReviewedVerdict['labels'][number]][] = [];
  for (const verdict of verdicts) {
    const first = answerOf(verdict.labels[0]);
    if (verdict.labels.length >= 2) pairs.push([verdict.labels[0]!, verdict.labels[1]!]);
    if (first === undefined) continue;
    if (verdict.flagged) {
      if (first === 'unsure') flaggedUnsure++;
      else {
        flaggedReviewed++;
        if (first === 'yes') confirmed++;
      }
    } else if (reviewDraw(verdict.audioFileId) < controlShare) {
      if (first === 'unsure') controlUnsure++;
      else {
        controlReviewed++;
        if (first === 'yes') missed++;
      }
    }
  }
  const unflagged = counts.classified - counts.flagged;
  const precision = wilsonInterval(confirmed, flaggedReviewed);
  const missRate = wilsonInterval(missed, controlReviewed);
  return {
    ...counts,
    unflagged,
    precision,
    flaggedReviewed,
    flaggedUnsure,
    controlReviewed,
    controlUnsure,
    missRate,
    recall: estimateRecall(precision, missRate, counts.flagged, unflagged),
    doubleReviewed: pairs.length,
    agreement: {
      violatesPolicy: cohensKappa(pairs.map(([a, b]) => [answerOf(a) ?? '', answerOf(b) ?? ''])),
      categories: categories.map((category) => ({
        category,
        kappa: cohensKappa(
          pairs.map(([a, b]) => [String(categoryOf(a) === category), String(categoryOf(b) === category)]),
        ),
      })),
    },
  };
}
