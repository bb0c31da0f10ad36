/** Tests that need the machine's OpenBLAS: skip outside CI with the package to install, fail under CI=true. */
import {findBlas, type Blas} from '../../src/compute/blas.js';

export const BLAS_PACKAGE = 'libopenblas0-pthread';

/** The loaded BLAS, or a skip reason naming the package (throws under CI=true instead). */
export function requireBlas(): {blas?: Blas; skip?: string} {
  const {blas, skipped} = findBlas();
  if (blas) return {blas};
  const why = `needs a BLAS library (Debian/Ubuntu: apt-get install ${BLAS_PACKAGE}); ${skipped.join('; ')}`;
  // PTV2_BLAS=none turns BLAS off on purpose (CI's second pass tests the WASM fallback).
  if (process.env.CI === 'true' && process.env.PTV2_BLAS?.trim() !== 'none') throw new Error(why);
  return {skip: why};
}
