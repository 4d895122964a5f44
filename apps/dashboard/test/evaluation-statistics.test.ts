import { describe, expect, it } from '@jest/globals';
import { cohensKappa, estimateRecall, wilsonInterval } from '../src/research/evaluation-statistics.js';

/** Pairs from a 2×2 table of two reviewers: [yes/yes, yes/no, no/yes, no/no]. */
function table(yy: number, yn: number, ny: number, nn: number): [string, string][] {
  const rows: [string, string][] = [];
  const add = (count: number, pair: [string, string]) => {
    for (let i = 0; i < count; i++) rows.push(pair);
  };
  add(yy, ['yes', 'yes']);
  add(yn, ['yes', 'no']);
  add(ny, ['no', 'yes']);
  add(nn, ['no', 'no']);
  return rows;
}

describe('wilsonInterval', () => {
  it('matches published 95% intervals', () => {
    // Newcombe (1998), Statistics in Medicine 17:857, table I: 81/263 → 0.2553–0.3662; 15/148 → 0.0624–0.1605.
    expect(wilsonInterval(81, 263)).toMatchObject({ estimate: 81 / 263 });
    expect(wilsonInterval(81, 263)!.low).toBeCloseTo(0.2553, 4);
    expect(wilsonInterval(81, 263)!.high).toBeCloseTo(0.3662, 4);
    expect(wilsonInterval(15, 148)!.low).toBeCloseTo(0.0624, 4);
    expect(wilsonInterval(15, 148)!.high).toBeCloseTo(0.1605, 4);
    // Newcombe's 0/20 and 1/29 examples: 0–0.1611 and 0.0061–0.1718.
    expect(wilsonInterval(0, 20)).toMatchObject({ estimate: 0, low: 0 });
    expect(wilsonInterval(0, 20)!.high).toBeCloseTo(0.1611, 4);
    expect(wilsonInterval(1, 29)!.low).toBeCloseTo(0.0061, 4);
    expect(wilsonInterval(1, 29)!.high).toBeCloseTo(0.1718, 4);
  });

  it('is exact at the ends, null for no data, and refuses impossible counts', () => {
    expect(wilsonInterval(5, 5)).toMatchObject({ estimate: 1, high: 1 });
    expect(wilsonInterval(5, 5)!.low).toBeCloseTo(0.5655, 4);
    expect(wilsonInterval(0, 0)).toBeNull();
    expect(() => wilsonInterval(3, 2)).toThrow(RangeError);
  });
});

describe('cohensKappa', () => {
  it('matches the textbook examples', () => {
    // Wikipedia, "Cohen's kappa", worked examples: 20/5/10/15 → 0.4; 45/15/25/15 → 0.1304; 25/35/5/35 → 0.2593.
    expect(cohensKappa(table(20, 5, 10, 15))).toMatchObject({ n: 50, observed: 0.7, expected: 0.5 });
    expect(cohensKappa(table(20, 5, 10, 15))!.kappa).toBeCloseTo(0.4, 10);
    expect(cohensKappa(table(45, 15, 25, 15))!.kappa).toBeCloseTo(0.1304, 4);
    expect(cohensKappa(table(25, 35, 5, 35))!.kappa).toBeCloseTo(0.2593, 4);
  });

  it('handles more than two categories, perfect agreement and no variation', () => {
    const three: [string, string][] = [
      ['yes', 'yes'],
      ['no', 'no'],
      ['unsure', 'unsure'],
      ['yes', 'no'],
    ];
    // po = 3/4; pe = (2/4·1/4) + (1/4·2/4) + (1/4·1/4) = 5/16 → (12/16 − 5/16)/(11/16) = 7/11.
    expect(cohensKappa(three)!.kappa).toBeCloseTo(7 / 11, 10);
    expect(cohensKappa(table(3, 0, 0, 2))!.kappa).toBe(1);
    expect(cohensKappa(table(4, 0, 0, 0))).toMatchObject({ observed: 1, expected: 1, kappa: null });
    expect(cohensKappa([])).toBeNull();
  });
});

describe('estimateRecall', () => {
  it('scales precision and the control miss rate to the flagged and unflagged counts', () => {
    // 100 flagged at precision 0.9 → 90 true positives; 900 unflagged at miss rate 0.01 → 9 misses.
    const precision = wilsonInterval(90, 100)!;
    const missRate = wilsonInterval(1, 100)!;
    const recall = estimateRecall(precision, missRate, 100, 900)!;
    expect(recall.truePositives).toBeCloseTo(90, 10);
    expect(recall.misses).toBeCloseTo(9, 10);
    expect(recall.estimate).toBeCloseTo(90 / 99, 10);
    const low = (precision.low * 100) / (precision.low * 100 + missRate.high * 900);
    expect(recall.low).toBeCloseTo(low, 10);
    expect(recall.low).toBeLessThan(recall.estimate);
    expect(recall.high).toBeGreaterThan(recall.estimate);
    expect(recall.high).toBeLessThanOrEqual(1);
  });

  it('needs both samples', () => {
    expect(estimateRecall(wilsonInterval(1, 1), null, 1, 1)).toBeNull();
  });
});
