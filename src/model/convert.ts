/**
 * `ptv2 models convert`: a directory with `pytorch_model.bin` → the same directory (or a copy) with
 * `model.safetensors`, tensor names, shapes and dtypes unchanged, `__metadata__: {"format": "pt"}`
 * as transformers' `save_pretrained(safe_serialization=True)` writes it. Every stored tensor is
 * written, shared storages included (each tensor gets its own bytes).
 */
import fs from 'node:fs';
import path from 'node:path';
import {UserError} from '../errors.js';
import {WEIGHTS_FILE} from './checkpoint.js';
import {parseRawSafetensors, writeRawSafetensors} from './safetensors.js';
import {readTorchBin, TORCH_BIN_FILE} from './torch-bin.js';
import {encodeTorchBin} from './torch-save.js';

export interface ConvertResult {
  from: string;
  to: string;
  tensors: number;
  storages: number;
  dtypes: Record<string, number>;
  bytes: number;
  /** Other files copied beside it when --out is another directory (config, tokenizer). */
  copied: string[];
}

/** Weight files of other formats are not copied: the output directory holds safetensors only. */
const NOT_COPIED = /\.(bin|safetensors|h5|msgpack|ckpt(\..*)?|pt|pth|onnx)$|\.index\.json$/;

export type ConvertTarget = 'safetensors' | 'bin';

export function convertCheckpoint(dir: string, outDir = dir, opts: {force?: boolean; to?: ConvertTarget} = {}): ConvertResult {
  if (opts.to === 'bin') return writeBin(dir, outDir, opts.force ?? false);
  const from = path.join(dir, TORCH_BIN_FILE);
  if (!fs.existsSync(from)) {
    const sharded = fs.existsSync(path.join(dir, `${TORCH_BIN_FILE}.index.json`));
    throw new UserError(sharded ? 'sharded checkpoints (pytorch_model.bin.index.json) are not converted yet' : 'not found', {file: from}, [
      sharded ? 'save it unsharded in transformers: model.save_pretrained(DIR, max_shard_size="100GB")' : 'pass the directory that holds pytorch_model.bin',
    ]);
  }
  const to = path.join(outDir, WEIGHTS_FILE);
  if (fs.existsSync(to) && !opts.force) {
    throw new UserError('already exists', {file: to}, ['pass --force to overwrite it, or --out DIR to write elsewhere']);
  }
  const {tensors, storages} = readTorchBin(from);
  fs.mkdirSync(outDir, {recursive: true});
  writeRawSafetensors(to, tensors, {format: 'pt'});
  return {from, to, tensors: tensors.size, storages, dtypes: dtypeCounts(tensors.values()), bytes: fs.statSync(to).size, copied: copyOthers(dir, outDir)};
}

/**
 * The reverse, for tools that read only .bin: model.safetensors → pytorch_model.bin as torch.save
 * writes a state dict (one storage per tensor), dtypes kept.
 */
function writeBin(dir: string, outDir: string, force: boolean): ConvertResult {
  const from = path.join(dir, WEIGHTS_FILE);
  if (!fs.existsSync(from)) throw new UserError('not found', {file: from}, ['pass a checkpoint directory that holds model.safetensors']);
  const to = path.join(outDir, TORCH_BIN_FILE);
  if (fs.existsSync(to) && !force) throw new UserError('already exists', {file: to}, ['pass --force to overwrite it, or --out DIR to write elsewhere']);
  const {tensors} = parseRawSafetensors(fs.readFileSync(from), from);
  fs.mkdirSync(outDir, {recursive: true});
  fs.writeFileSync(to, encodeTorchBin(tensors));
  return {from, to, tensors: tensors.size, storages: tensors.size, dtypes: dtypeCounts(tensors.values()), bytes: fs.statSync(to).size, copied: copyOthers(dir, outDir)};
}

function dtypeCounts(tensors: Iterable<{dtype: string}>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const {dtype} of tensors) counts[dtype] = (counts[dtype] ?? 0) + 1;
  return counts;
}

function copyOthers(dir: string, outDir: string): string[] {
  if (path.resolve(outDir) === path.resolve(dir)) return [];
  const copied: string[] = [];
  for (const entry of fs.readdirSync(dir, {withFileTypes: true})) {
    if (!entry.isFile() || NOT_COPIED.test(entry.name)) continue;
    fs.copyFileSync(path.join(dir, entry.name), path.join(outDir, entry.name));
    copied.push(entry.name);
  }
  return copied;
}
