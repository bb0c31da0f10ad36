/**
 * A pickle interpreter that executes nothing. Python's `pickle.load` calls whatever a file names
 * (`os.system` is two opcodes away), so ptv2 reads the opcode stream itself: values are plain JS
 * data, and a GLOBAL/STACK_GLOBAL names a callable only when the caller's table allows it; any
 * other reference is refused at that opcode, naming it, before anything further is read.
 *
 * Opcodes follow CPython's Lib/pickletools.py: every opcode of protocols 0–2 that torch.save
 * (protocol 2) and Python's pickler produce for dicts, tuples, lists, strings and numbers, plus the
 * protocol 4 framing ones (FRAME, MEMOIZE, STACK_GLOBAL, SHORT_BINUNICODE) other writers use.
 */
import {UserError} from '../errors.js';

/** A Python dict: keys are strings or numbers; insertion order kept (as OrderedDict's). */
export type PickleDict = Map<string | number | boolean | null, PickleValue>;

export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | PickleDict
  | PickleGlobal
  | {readonly kind: string};

/** What a GLOBAL opcode pushes: an allowed name, callable by REDUCE when it has `call`. */
export interface PickleGlobal {
  readonly kind: 'global';
  readonly name: string;
  readonly call?: (args: PickleValue[]) => PickleValue;
  /** BUILD(state) on a value this global made; without it BUILD is refused. */
  readonly build?: (target: PickleValue, state: PickleValue) => void;
}

export interface UnpickleOptions {
  /** Allowed globals by `module.name`; every other name is refused. */
  globals: ReadonlyMap<string, Omit<PickleGlobal, 'kind' | 'name'>>;
  /** BINPERSID/PERSID: the value a persistent id stands for; absent = persistent ids refused. */
  persistentLoad?: (pid: PickleValue) => PickleValue;
  /** For error messages: the file (or archive entry) being read. */
  file: string;
  /** What the caller allows, for the refusal message (e.g. "tensors and their storages"). */
  allowedWhat: string;
}

const MARK = Symbol('mark');
type StackItem = PickleValue | typeof MARK;

const OPCODE_NAMES: Record<number, string> = {
  0x63: 'GLOBAL', 0x93: 'STACK_GLOBAL', 0x52: 'REDUCE', 0x62: 'BUILD', 0x69: 'INST', 0x6f: 'OBJ',
  0x81: 'NEWOBJ', 0x92: 'NEWOBJ_EX', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4',
};

export function unpickle(bytes: Uint8Array, options: UnpickleOptions): PickleValue {
  const {file} = options;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: StackItem[] = [];
  const memo = new Map<number, PickleValue>();
  const builtBy = new WeakMap<object, PickleGlobal>();
  let pos = 0;
  let opStart = 0;

  const fail = (message: string, suggestions: string[] = []): never => {
    throw new UserError(`${message} (pickle offset ${opStart})`, {file}, suggestions);
  };
  const need = (n: number) => {
    if (pos + n > bytes.byteLength) fail('the pickle ends in the middle of an opcode; the file is truncated');
  };
  const u8 = () => (need(1), bytes[pos++]);
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const i32 = () => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const u64 = () => {
    need(8);
    const value = view.getBigUint64(pos, true);
    pos += 8;
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) fail(`length ${value} is too large`);
    return Number(value);
  };
  const take = (n: number) => {
    need(n);
    pos += n;
    return bytes.subarray(pos - n, pos);
  };
  const utf8 = (raw: Uint8Array) => {
    try {
      return new TextDecoder('utf-8', {fatal: true}).decode(raw);
    } catch {
      return fail('a string in the pickle is not valid UTF-8');
    }
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('the pickle ends inside a text line; the file is truncated');
    const text = utf8(bytes.subarray(pos, end));
    pos = end + 1;
    return text;
  };
  const pop = (): PickleValue => {
    const value = stack.pop();
    if (value === undefined || value === MARK) return fail('the pickle pops an empty stack; it is corrupt');
    return value;
  };
  const popMark = (): PickleValue[] => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0) fail('the pickle has no MARK where one is needed; it is corrupt');
    const items = stack.splice(at) as PickleValue[];
    items.shift();
    return items;
  };
  const top = (): PickleValue => {
    const value = stack[stack.length - 1];
    if (value === undefined || value === MARK) return fail('the pickle reads an empty stack; it is corrupt');
    return value;
  };
  const global = (module: string, name: string): PickleGlobal => {
    const qualified = `${module}.${name}`;
    const allowed = options.globals.get(qualified);
    if (!allowed) {
      fail(`refused: the pickle references ${qualified}, which ptv2 does not allow (it reads only ${options.allowedWhat}); nothing was executed`, [
        'only convert files from a source you trust; a checkpoint that needs other Python objects cannot be converted',
      ]);
    }
    return {kind: 'global', name: qualified, ...allowed};
  };
  const setItems = (dict: PickleValue, items: PickleValue[]) => {
    if (!(dict instanceof Map)) fail('SETITEM(S) on something that is not a dict');
    for (let i = 0; i + 1 < items.length; i += 2) (dict as PickleDict).set(dictKey(items[i]), items[i + 1]);
  };
  const dictKey = (key: PickleValue): string | number | boolean | null => {
    if (key === null || typeof key === 'string' || typeof key === 'number' || typeof key === 'boolean') return key;
    return fail('a dict key that is not a string or number');
  };
  const memoGet = (index: number) => {
    if (!memo.has(index)) fail(`memo entry ${index} read before it was written; the pickle is corrupt`);
    return memo.get(index)!;
  };

  for (;;) {
    opStart = pos;
    const op = u8();
    switch (op) {
      case 0x80: { // PROTO
        const protocol = u8();
        if (protocol > 5) fail(`pickle protocol ${protocol} is newer than any ptv2 knows (≤ 5)`);
        break;
      }
      case 0x95: take(8); break; // FRAME: a length hint only
      case 0x2e: { // STOP
        const result = pop();
        return result;
      }
      case 0x28: stack.push(MARK); break; // MARK
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x8a: stack.push(longValue(take(u8()))); break; // LONG1
      case 0x8b: { // LONG4: no tensor needs more than 8 bytes; longer ones would only cost time
        const length = u32();
        if (length > 64) fail(`a ${length}-byte integer; ptv2 reads integers of up to 64 bytes`);
        stack.push(longValue(take(length)));
        break;
      }
      case 0x47: { // BINFLOAT (big-endian)
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      }
      case 0x49: { // INT (text): also protocol 0's True/False as 01/00
        const text = line();
        stack.push(text === '01' ? true : text === '00' ? false : parseTextInt(text, fail));
        break;
      }
      case 0x4c: stack.push(parseTextInt(line().replace(/L$/, ''), fail)); break; // LONG (text)
      case 0x58: stack.push(utf8(take(u32()))); break; // BINUNICODE
      case 0x8c: stack.push(utf8(take(u8()))); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(utf8(take(u64()))); break; // BINUNICODE8
      case 0x54: stack.push(latin1(take(i32()))); break; // BINSTRING (Python 2 str)
      case 0x55: stack.push(latin1(take(u8()))); break; // SHORT_BINSTRING
      case 0x42: stack.push(take(u32()).slice()); break; // BINBYTES
      case 0x43: stack.push(take(u8()).slice()); break; // SHORT_BINBYTES
      case 0x8e: stack.push(take(u64()).slice()); break; // BINBYTES8
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); stack.push([pop(), b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); stack.push([pop(), b, c]); break; } // TUPLE3
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x64: { // DICT
        const dict: PickleDict = new Map();
        setItems(dict, popMark());
        stack.push(dict);
        break;
      }
      case 0x61: { // APPEND
        const value = pop();
        const list = top();
        if (!Array.isArray(list)) fail('APPEND to something that is not a list');
        (list as PickleValue[]).push(value);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) fail('APPENDS to something that is not a list');
        (list as PickleValue[]).push(...items);
        break;
      }
      case 0x73: { const value = pop(); const key = pop(); setItems(top(), [key, value]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x70: memo.set(parseTextInt(line(), fail) as number, top()); break; // PUT
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x67: stack.push(memoGet(parseTextInt(line(), fail) as number)); break; // GET
      case 0x68: stack.push(memoGet(u8())); break; // BINGET
      case 0x6a: stack.push(memoGet(u32())); break; // LONG_BINGET
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x63: { // GLOBAL: "module\nname\n"
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!options.persistentLoad) fail('the pickle has a persistent id, which ptv2 does not allow here');
        stack.push(options.persistentLoad!(pid));
        break;
      }
      case 0x52: { // REDUCE: callable(*args)
        const args = pop();
        const callable = pop();
        if (!isGlobal(callable) || !callable.call) {
          fail(`refused: the pickle calls ${describe(callable)}, which ptv2 does not allow (it reads only ${options.allowedWhat}); nothing was executed`);
        }
        if (!Array.isArray(args)) fail(`REDUCE of ${(callable as PickleGlobal).name} without an argument tuple`);
        const made = (callable as PickleGlobal).call!(args as PickleValue[]);
        // Objects made by an allowed callable remember it, so BUILD can ask it whether state is allowed.
        if (typeof made === 'object' && made !== null) builtBy.set(made, callable as PickleGlobal);
        stack.push(made);
        break;
      }
      case 0x62: { // BUILD: target.__setstate__(state)
        const state = pop();
        const target = top();
        const maker = builtBy.get(target as object);
        if (!maker?.build) fail(`refused: the pickle sets the state of ${maker ? maker.name : describe(target)}, which ptv2 does not allow`);
        maker!.build!(target, state);
        break;
      }
      default: {
        const name = OPCODE_NAMES[op];
        fail(name
          ? `refused: the pickle uses ${name}, which builds arbitrary Python objects; ptv2 does not allow it (it reads only ${options.allowedWhat}); nothing was executed`
          : `unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')}; this is not a pickle ptv2 can read`);
      }
    }
  }
}

function isGlobal(value: PickleValue): value is PickleGlobal {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Map) && !(value instanceof Uint8Array) && value.kind === 'global';
}

function describe(value: PickleValue): string {
  if (isGlobal(value)) return value.name;
  if (value === null) return 'None';
  if (Array.isArray(value)) return 'a tuple';
  if (value instanceof Map) return 'a dict';
  if (typeof value === 'object') return `a ${value.constructor === Uint8Array ? 'bytes' : (value as {kind: string}).kind} value`;
  return `a ${typeof value}`;
}

/** LONG1/LONG4: little-endian two's complement; a number when it is exact, else a bigint. */
function longValue(raw: Uint8Array): number | bigint {
  if (raw.length === 0) return 0;
  let value = 0n;
  for (let i = raw.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(raw[i]);
  if (raw[raw.length - 1] & 0x80) value -= 1n << BigInt(raw.length * 8);
  const small = Number(value);
  return Number.isSafeInteger(small) ? small : value;
}

function parseTextInt(text: string, fail: (message: string) => never): number | bigint {
  if (!/^-?\d+$/.test(text)) return fail(`expected an integer, got ${JSON.stringify(text)}`);
  const value = BigInt(text);
  const small = Number(value);
  return Number.isSafeInteger(small) ? small : value;
}

function latin1(raw: Uint8Array): string {
  return String.fromCharCode(...raw);
}
