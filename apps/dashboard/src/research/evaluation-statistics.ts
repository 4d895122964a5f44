// The statistics of the evaluation page, as pure functions: Wilson score intervals for proportions,
// Cohen's kappa for two reviewers, and recall estimated from precision and a control sample.

/** z for a two-sided 95% interval. */
export const Z_95 = 1.959963984540054;

export interface Proportion {
  successes: number;
  n: number;
  /** successes / n */
  estimate: number;
  low: number;
  high: number;
}

/**
 * The Wilson score interval of a binomial proportion (Wilson 1927): unlike the normal ("Wald")
 * interval it stays inside [0, 1] and keeps its coverage for small n and for proportions near 0 or 1,
 * which is what a control sample with few misses gives. Null when n is 0.
 */
export function wilsonInterval(successes: number, n: number, z = Z_95): Proportion | null {
  if (!Number.isInteger(successes) || !Number.isInteger(n) || successes < 0 || successes > n) {
    throw new RangeError(`wilsonInterval: need whole numbers 0 ≤ successes ≤ n, got ${successes}/${n}`);
  }
  if (n === 0) return null;
  const p = successes / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // Exact ends at 0 and n (the formula gives them up to rounding).
  return {
    successes,
    n,
    estimate: p,
    low: successes === 0 ? 0 : Math.max(0, centre - half),
    high: successes === n ? 1 : Math.min(1, centre + half),
  };
}

export interface Kappa {
  /** Pairs rated. */
  n: number;
  /** Share of pairs where the two reviewers agree. */
  observed: number;
  /** Agreement expected by chance from each reviewer's own rates. */
  expected: number;
  /** (observed − expected) / (1 − expected); null when expected is 1 (both always gave one same answer). */
  kappa: number | null;
}

/** Cohen's kappa of two reviewers' answers on the same items (any number of categories). Null for no pairs. */
export function cohensKappa(pairs: readonly (readonly [string, string])[]): Kappa | null {
  const n = pairs.length;
  if (n === 0) return null;
  const first = new Map<string, number>();
  const second = new Map<string, number>();
  let agree = 0;
  for (const [a, b] of pairs) {
    if (a === b) agree++;
    first.set(a, (first.get(a) ?? 0) + 1);
    second.set(b, (second.get(b) ?? 0) + 1);
  }
  let expected = 0;
  for (const [category, count] of first) expected += (count / n) * ((second.get(category) ?? 0) / n);
  const observed = agree / n;
  return { n, observed, expected, kappa: expected >= 1 ? null : (observed - expected) / (1 - expected) };
}

export interface RecallEstimate {
  /** Estimated true positives among the flagged: precision × flagged. */
  truePositives: number;
  /** Estimated misses among the unflagged: miss rate × unflagged. */
  misses: number;
  estimate: number;
  /**
   * From the ends of the two Wilson intervals (low: lowest precision with highest miss rate; high: the
   * reverse): conservative, each end at least 95% on its own.
   */
  low: number;
  high: number;
}

/**
 * Recall = TP / (TP + FN), where TP is estimated from the precision of the flags (reviewed flagged
 * items) and FN from the miss rate in the control sample (reviewed unflagged items), each scaled to
 * the version's flagged and unflagged counts. Null without both a precision and a miss rate.
 */
export function estimateRecall(
  precision: Proportion | null,
  missRate: Proportion | null,
  flagged: number,
  unflagged: number,
): RecallEstimate | null {
  if (!precision || !missRate) return null;
  const recall = (p: number, m: number) => {
    const tp = p * flagged;
    const fn = m * unflagged;
    return tp + fn === 0 ? 1 : tp / (tp + fn);
  };
  return {
    truePositives: precision.estimate * flagged,
    misses: missRate.estimate * unflagged,
    estimate: recall(precision.estimate, missRate.estimate),
    low: recall(precision.low, missRate.high),
    high: recall(precision.high, missRate.low),
  };
}
