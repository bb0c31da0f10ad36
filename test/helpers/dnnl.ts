/** Tests that need oneDNN: skip outside CI with the package to install, fail under CI=true. */
import {findDnnl, type Dnnl} from '../../src/compute/dnnl.js';

export const DNNL_PACKAGE = 'libdnnl2';

/** oneDNN, or a skip reason naming the package (throws under CI=true instead). */
export function requireDnnl(): {dnnl?: Dnnl; skip?: string} {
  const dnnl = findDnnl();
  if (dnnl) return {dnnl};
  const why = `needs oneDNN 2.x (Debian/Ubuntu: apt-get install ${DNNL_PACKAGE})`;
  if (process.env.CI === 'true' && process.env.PTV2_DNNL?.trim() !== 'none') throw new Error(why);
  return {skip: why};
}
