/** What the attention pair-loop tests share: sgemm on one thread with offsets, and a small shape. */
import type {ArrayGemm, AttentionShape} from '../../src/compute/attention-pairs.js';
import {findBlas} from '../../src/compute/blas.js';

/** The machine's cblas_sgemm on one thread, with element offsets (needs a BLAS library). */
export function oneThreadGemm(): ArrayGemm {
  const blas = findBlas().blas!;
  return (tA, tB, m, n, k, alpha, A, aO, lda, B, bO, ldb, beta, C, cO, ldc) =>
    blas.sgemm(tA, tB, m, n, k, alpha, A.subarray(aO), lda, B.subarray(bO), ldb, beta, C.subarray(cO), ldc, true);
}

/** 3 examples × 2 heads of 9 tokens, head size 8, a prefix of 3: K = 12 keys, padded to K4 = 12. */
export function smallAttentionShape(): AttentionShape {
  const [B, H, S, P, d] = [3, 2, 9, 3, 8];
  const K = P + S;
  return {B, H, S, P, K, K4: Math.ceil(K / 4) * 4, d, h: H * d};
}
