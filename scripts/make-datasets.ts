/**
 * Writes ptv2's synthetic data sets: `node --import tsx scripts/make-datasets.ts [outDir=datasets]`.
 * The seed is fixed, so running it again reproduces the committed files byte for byte.
 */

import {generateDatasets} from '../src/data/synthetic/index.js';

const outDir = process.argv[2] ?? 'datasets';
const {files} = generateDatasets(outDir);
console.log(`wrote ${files.length} files under ${outDir}`);
