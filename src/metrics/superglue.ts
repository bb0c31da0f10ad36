/**
 * The two SuperGLUE scores that are not plain classification metrics.
 * - MultiRC: F1a, binary F1 over every answer option, and EM, the share of questions whose options
 *   are all labelled right.
 * - ReCoRD: exact match and token F1 of the chosen entity against each gold answer, the best gold
 *   counting, averaged over queries. The official ReCoRD script normalises strings as SQuAD 1.1's
 *   does (lower-case, drop ASCII punctuation, drop the articles a/an/the, collapse whitespace), so
 *   the SQuAD normaliser serves both.
 * References: Khashabi et al. 2018 (MultiRC); Zhang et al. 2018 (ReCoRD), evaluation.py of the release.
 */

import {binaryF1} from './classification.js';
import {normalizeAnswer} from './squad.js';

export interface MultiRcItem {
  /** Question the answer option belongs to. */
  group: string;
  pred: 0 | 1;
  gold: 0 | 1;
}

export function multircScores(items: readonly MultiRcItem[]): {f1a: number; em: number} {
  if (items.length === 0) return {f1a: 0, em: 0};
  const f1a = binaryF1(items.map((item) => item.pred), items.map((item) => item.gold), 1);
  const allRight = new Map<string, boolean>();
  for (const item of items) allRight.set(item.group, (allRight.get(item.group) ?? true) && item.pred === item.gold);
  const em = [...allRight.values()].filter(Boolean).length / allRight.size;
  return {f1a, em};
}

export interface RecordItem {
  query: string;
  predText: string;
  goldTexts: string[];
}

export function recordScores(items: readonly RecordItem[]): {em: number; f1: number} {
  const seen = new Set<string>();
  let em = 0;
  let f1 = 0;
  for (const item of items) {
    if (seen.has(item.query)) throw new Error(`ReCoRD query ${item.query} is scored twice`);
    seen.add(item.query);
    em += bestOverGold(item, (pred, gold) => (normalizeAnswer(pred) === normalizeAnswer(gold) ? 1 : 0));
    f1 += bestOverGold(item, tokenF1);
  }
  return items.length === 0 ? {em: 0, f1: 0} : {em: em / items.length, f1: f1 / items.length};
}

function bestOverGold(item: RecordItem, score: (pred: string, gold: string) => number): number {
  return item.goldTexts.reduce((best, gold) => Math.max(best, score(item.predText, gold)), 0);
}

/** evaluate.py's f1_score: like SQuAD 1.1, an empty prediction or gold scores 0 (not 1 as in SQuAD 2.0). */
function tokenF1(pred: string, gold: string): number {
  const predTokens = normalizeAnswer(pred).split(' ').filter((t) => t !== '');
  const goldTokens = normalizeAnswer(gold).split(' ').filter((t) => t !== '');
  const goldCounts = new Map<string, number>();
  for (const token of goldTokens) goldCounts.set(token, (goldCounts.get(token) ?? 0) + 1);
  let common = 0;
  for (const token of predTokens) {
    const left = goldCounts.get(token) ?? 0;
    if (left > 0) {
      common++;
      goldCounts.set(token, left - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / predTokens.length;
  const recall = common / goldTokens.length;
  return (2 * precision * recall) / (precision + recall);
}
