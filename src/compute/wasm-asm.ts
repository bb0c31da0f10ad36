/**
 * A minimal WebAssembly assembler: enough of the binary format (WebAssembly core spec §5 and the
 * SIMD proposal's BinarySIMD.md) to build one module of SIMD kernels from TypeScript at load
 * time, with no toolchain and no binary blob in the repository. simd-kernels.ts is its only user.
 *
 * Instructions are byte arrays; a function body is a list of them. Helpers cover the handful of
 * scalar and f32x4/i32x4 instructions the kernels use. v128 constants become mutable globals
 * (constantsAsGlobals): measured on GELU's loop, 129 → 97 x64 instructions per four floats and
 * 3.6–4.2 → 2.9–3.1 ns per element.
 */

export type Code = number[];

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;
type ValType = typeof I32 | typeof F32 | typeof V128;

export function uleb(value: number): Code {
  const out: Code = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

export function sleb(value: number): Code {
  const out: Code = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function f32Bytes(x: number): Code {
  return [...new Uint8Array(new Float32Array([x]).buffer)];
}

function name(s: string): Code {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

function vec(items: Code[]): Code {
  return [...uleb(items.length), ...items.flat()];
}

const simd = (opcode: number): Code => [0xfd, ...uleb(opcode)];

/** Scalar and control instructions. */
export const op = {
  get: (i: number): Code => [0x20, ...uleb(i)],
  set: (i: number): Code => [0x21, ...uleb(i)],
  tee: (i: number): Code => [0x22, ...uleb(i)],
  i32: (n: number): Code => [0x41, ...sleb(n)],
  f32: (x: number): Code => [0x43, ...f32Bytes(x)],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Mul: [0x6c],
  i32Shl: [0x74],
  i32GeU: [0x4f],
  i32GtS: [0x4a],
  i32GeS: [0x4e],
  i32Eqz: [0x45],
  f32Add: [0x92],
  f32Max: [0x97],
  f32Div: [0x95],
  f32Load: (offset = 0): Code => [0x2a, 2, ...uleb(offset)],
  f32Store: (offset = 0): Code => [0x38, 2, ...uleb(offset)],
  block: [0x02, 0x40],
  if: [0x04, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (depth: number): Code => [0x0c, ...uleb(depth)],
  brIf: (depth: number): Code => [0x0d, ...uleb(depth)],
};

/** 128-bit SIMD instructions (f32x4 / i32x4 lanes). Memory access is unaligned-safe; the hint is 4 bytes. */
export const v = {
  load: (offset = 0): Code => [...simd(0x00), 2, ...uleb(offset)],
  store: (offset = 0): Code => [...simd(0x0b), 2, ...uleb(offset)],
  loadSplat: (offset = 0): Code => [...simd(0x09), 2, ...uleb(offset)],
  i32x4: (lanes: [number, number, number, number]): Code => constant([...simd(0x0c), ...new Uint8Array(new Int32Array(lanes).buffer)]),
  splatI32: simd(0x11),
  /** i8x16.shuffle picking 32-bit lanes: 0–3 from the first operand, 4–7 from the second. */
  shuffleLanes: (lanes: [number, number, number, number]): Code => [...simd(0x0d), ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3])],
  /** Lane `lane` of an f32x4 in all four lanes (i8x16.shuffle of the vector with itself). */
  broadcastLane: (lane: number): Code => [...simd(0x0d), ...Array.from({length: 16}, (_, i) => 4 * lane + (i % 4))],
  splatF32: simd(0x13),
  lane: (i: number): Code => [...simd(0x1f), i],
  and: simd(0x4e),
  xor: simd(0x51),
  bitselect: simd(0x52),
  i32GeU: simd(0x40),
  fLe: simd(0x45),
  fGe: simd(0x46),
  shl: simd(0xab),
  shrU: simd(0xad),
  iAdd: simd(0xae),
  iMul: simd(0xb5),
  abs: simd(0xe0),
  neg: simd(0xe1),
  sqrt: simd(0xe3),
  add: simd(0xe4),
  sub: simd(0xe5),
  mul: simd(0xe6),
  div: simd(0xe7),
  max: simd(0xe9),
  /** Pseudo-min/max, b < a ? b : a and a < b ? b : a: one x86 instruction, where min/max take ~8 for NaN and −0 rules. */
  pmin: simd(0xea),
  pmax: simd(0xeb),
};

/** f32 constant in all four lanes (`assemble` makes it a read of a mutable v128 global). */
export function splat(x: number): Code {
  return constant([...simd(0x0c), ...new Uint8Array(new Float32Array([x, x, x, x]).buffer)]);
}

const CONSTANT = Symbol('v128.const');

/** Marks a v128.const for constantsAsGlobals (it stays marked only as one chunk of a body, not spread into another). */
function constant(code: Code): Code {
  return Object.assign(code, {[CONSTANT]: true as const});
}

/**
 * Bodies whose v128 constants read mutable globals instead (one global per distinct value).
 * V8 (x64) rebuilds a v128.const at every use, three instructions (movq, vmovq, vpunpcklqdq)
 * inside the hottest loops; a mutable global it cannot fold, so a use is one load.
 */
function constantsAsGlobals(bodies: Code[][]): {bodies: Code[][]; globals: Code[]} {
  const index = new Map<string, number>();
  const globals: Code[] = [];
  const out = bodies.map((body) =>
    body.map((chunk) => {
      if (!(chunk as Code & {[CONSTANT]?: true})[CONSTANT]) return chunk;
      const key = chunk.join(',');
      let i = index.get(key);
      if (i === undefined) {
        i = globals.push([V128, 0x01, ...chunk, ...op.end]) - 1;
        index.set(key, i);
      }
      return [0x23, ...uleb(i)];
    }),
  );
  return {bodies: out, globals};
}

// ---- Loop and arithmetic patterns shared by the kernels ----------------------------------------

/** while (pointer local `p` < local `end`) { body; advance each pointer local by 16 bytes } */
export function vectorLoop(p: number, end: number, advance: number[], body: Code[]): Code[] {
  return [
    op.block, op.loop,
    op.get(p), op.get(end), op.i32GeU, op.brIf(1),
    ...body,
    ...advance.flatMap((a) => [op.get(a), op.i32(16), op.i32Add, op.set(a)]),
    op.br(0),
    op.end, op.end,
  ];
}

/** while (local `rows` > 0) { body; rows -= 1 } */
export function rowLoop(rows: number, body: Code[]): Code[] {
  return [
    op.block, op.loop,
    op.get(rows), op.i32Eqz, op.brIf(1),
    ...body,
    op.get(rows), op.i32(1), op.i32Sub, op.set(rows),
    op.br(0),
    op.end, op.end,
  ];
}

/** local `end` ← pointer local `p` + 4·(local `count`) */
export function endOf(p: number, count: number, end: number): Code[] {
  return [op.get(p), op.get(count), op.i32(2), op.i32Shl, op.i32Add, op.set(end)];
}

/** f32 sum or max of the four lanes of local `vec`. */
export function reduceLanes(vec: number, combine: Code): Code[] {
  return [op.get(vec), v.lane(0), op.get(vec), v.lane(1), combine, op.get(vec), v.lane(2), combine, op.get(vec), v.lane(3), combine];
}

/** Horner evaluation of a polynomial (highest power first) in the v128 local `x`, left on the stack. */
export function horner(x: number, coeffs: number[]): Code[] {
  const out: Code[] = [splat(coeffs[0])];
  for (const c of coeffs.slice(1)) out.push(op.get(x), v.mul, splat(c), v.add);
  return out;
}

export interface WasmFunction {
  name: string;
  params: ValType[];
  results?: ValType[];
  locals?: ValType[];
  body: Code[];
}

/** A module importing `env.memory` (the memory it works on) and exporting `functions`. */
export function assemble(functions: WasmFunction[]): Uint8Array {
  const section = (id: number, content: Code): Code => [id, ...uleb(content.length), ...content];
  const types = functions.map((f) => [0x60, ...vec(f.params.map((t) => [t])), ...vec((f.results ?? []).map((t) => [t]))]);
  const imports = [[...name('env'), ...name('memory'), 0x02, 0x00, ...uleb(1)]];
  const exports = functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]);
  const {bodies: rewritten, globals} = constantsAsGlobals(functions.map((f) => f.body));
  const bodies = functions.map((f, i) => {
    const locals = (f.locals ?? []).map((t) => [1, t]);
    const content = [...vec(locals), ...rewritten[i].flat(), ...op.end];
    return [...uleb(content.length), ...content];
  });
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, vec(imports)),
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...section(6, vec(globals)),
    ...section(7, vec(exports)),
    ...section(10, vec(bodies)),
  ]);
}
