import { StringDecoder } from 'node:string_decoder';

/** The body is not valid JSON (answered as the JSON parser's own refusal). */
export class MalformedJson extends Error {}
/** The members kept in memory exceed their bound. */
export class BufferedTooLarge extends Error {}

enum State {
  Before,
  ObjectStart,
  Key,
  Colon,
  ValueStart,
  RawValue,
  Streamed,
  AfterValue,
  ExpectKey,
  After,
  Whole,
}

const isSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/**
 * Reads a JSON object body as it arrives, piece by piece, without ever holding one named top-level string member
 * whole: that member's characters (escapes decoded) are handed out in pieces through `take()`, and every other member
 * is kept as its exact text (at most `maxBuffered` bytes in all) to be parsed by `JSON.parse` at the end (`rest()`),
 * which checks their syntax. What this reader consumes itself (the object's braces, colons, commas, keys and the
 * streamed string) it checks as strictly as JSON.parse; a body that is not an object is kept whole and parsed as is.
 *
 * A second member with the streamed key is refused as malformed: JSON.parse would keep the last one, but the first
 * has already been handed out.
 */
export class StreamedJsonObject {
  private state = State.Before;
  private started = false;
  private kept = 0;
  private readonly members: { key: Buffer[]; value: Buffer[] }[] = [];
  private readonly whole: Buffer[] = [];
  private key: Buffer[] = [];
  private escaped = false;
  // Raw value scanning: nesting depth, inside a string, a bare literal (number, true, false, null).
  private depth = 0;
  private inString = false;
  private bare = false;
  // The streamed string: UTF-8 decoding across pieces, then JSON escapes across pieces.
  private readonly utf8 = new StringDecoder('utf8');
  private pendingEscape = '';
  private out: string[] = [];
  private streamedSeen = false;
  /** True once the streamed member's closing quote has been read. */
  streamedEnded = false;

  constructor(private readonly options: { streamedKey: string; maxBuffered: number }) {}

  /** Reads the next piece of the body; throws MalformedJson or BufferedTooLarge. */
  feed(piece: Buffer): void {
    let i = 0;
    if (!this.started) {
      this.started = true;
      // A UTF-8 byte order mark, which Fastify's JSON parser also skips.
      if (piece.length >= 3 && piece[0] === 0xef && piece[1] === 0xbb && piece[2] === 0xbf) i = 3;
    }
    while (i < piece.length) i = this.step(piece, i);
  }

  /** The streamed member's characters read since the last call. */
  take(): string[] {
    const taken = this.out;
    this.out = [];
    return taken;
  }

  /** Once the body has ended: the text of every member but the streamed one, as one JSON object (or the whole body). */
  rest(): string {
    if (this.state === State.Whole) return Buffer.concat(this.whole).toString('utf8');
    if (this.state !== State.After) throw new MalformedJson('the body ended early');
    const parts: Buffer[] = [Buffer.from('{')];
    for (const [n, member] of this.members.entries()) {
      if (n) parts.push(Buffer.from(','));
      parts.push(...member.key, Buffer.from(':'), ...member.value);
    }
    parts.push(Buffer.from('}'));
    return Buffer.concat(parts).toString('utf8');
  }

  /** Reads from piece[i] on in the current state; returns where the next step starts. */
  private step(piece: Buffer, i: number): number {
    const b = piece[i]!;
    switch (this.state) {
      case State.Before:
        if (isSpace(b)) return i + 1;
        if (b === 0x7b) return this.to(State.ObjectStart, i + 1);
        this.state = State.Whole;
        return i;
      case State.Whole:
        this.keep(this.whole, piece.subarray(i));
        return piece.length;
      case State.ObjectStart:
      case State.ExpectKey:
        if (isSpace(b)) return i + 1;
        if (b === 0x7d && this.state === State.ObjectStart) return this.to(State.After, i + 1);
        if (b !== QUOTE) throw new MalformedJson('expected a key');
        this.key = [];
        this.escaped = false;
        this.keep(this.key, piece.subarray(i, i + 1));
        return this.to(State.Key, i + 1);
      case State.Key:
        return this.readKey(piece, i);
      case State.Colon:
        if (isSpace(b)) return i + 1;
        if (b !== 0x3a) throw new MalformedJson('expected a colon');
        return this.to(State.ValueStart, i + 1);
      case State.ValueStart:
        return this.startValue(piece, i);
      case State.RawValue:
        return this.readRawValue(piece, i);
      case State.Streamed:
        return this.readStreamed(piece, i);
      case State.AfterValue:
        if (isSpace(b)) return i + 1;
        if (b === 0x2c) return this.to(State.ExpectKey, i + 1);
        if (b === 0x7d) return this.to(State.After, i + 1);
        throw new MalformedJson('expected a comma or the end of the object');
      case State.After:
        if (isSpace(b)) return i + 1;
        throw new MalformedJson('text after the object');
    }
  }

  private to(state: State, next: number): number {
    this.state = state;
    return next;
  }

  private keep(into: Buffer[], bytes: Buffer): void {
    this.kept += bytes.length;
    if (this.kept > this.options.maxBuffered) throw new BufferedTooLarge();
    // Copied: a view would keep the whole piece (and the streamed bytes in it) alive.
    into.push(Buffer.from(bytes));
  }

  private readKey(piece: Buffer, start: number): number {
    for (let i = start; i < piece.length; i++) {
      const b = piece[i]!;
      if (this.escaped) this.escaped = false;
      else if (b === BACKSLASH) this.escaped = true;
      else if (b === QUOTE) {
        this.keep(this.key, piece.subarray(start, i + 1));
        return this.to(State.Colon, i + 1);
      }
    }
    this.keep(this.key, piece.subarray(start));
    return piece.length;
  }

  private keyText(): string {
    try {
      return JSON.parse(Buffer.concat(this.key).toString('utf8')) as string;
    } catch {
      throw new MalformedJson('invalid key');
    }
  }

  private startValue(piece: Buffer, i: number): number {
    const b = piece[i]!;
    if (isSpace(b)) return i + 1;
    if (b === 0x2c || b === 0x7d || b === 0x5d || b === 0x3a) throw new MalformedJson('expected a value');
    const streamed = this.keyText() === this.options.streamedKey;
    if (streamed && this.streamedSeen) throw new MalformedJson(`duplicate ${this.options.streamedKey}`);
    this.streamedSeen ||= streamed;
    if (streamed && b === QUOTE) {
      this.escaped = false;
      return this.to(State.Streamed, i + 1);
    }
    this.members.push({ key: this.key, value: [] });
    this.depth = 0;
    this.inString = false;
    this.escaped = false;
    this.bare = b !== QUOTE && b !== 0x7b && b !== 0x5b;
    return this.to(State.RawValue, i);
  }

  /** Finds where a kept value ends (JSON.parse checks the rest of its syntax later). */
  private readRawValue(piece: Buffer, start: number): number {
    const value = this.members[this.members.length - 1]!.value;
    for (let i = start; i < piece.length; i++) {
      const b = piece[i]!;
      let end = -1;
      if (this.bare) {
        if (isSpace(b) || b === 0x2c || b === 0x7d) end = i;
      } else if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (b === BACKSLASH) this.escaped = true;
        else if (b === QUOTE) {
          this.inString = false;
          if (this.depth === 0) end = i + 1;
        }
      } else if (b === QUOTE) this.inString = true;
      else if (b === 0x7b || b === 0x5b) this.depth++;
      else if ((b === 0x7d || b === 0x5d) && --this.depth === 0) end = i + 1;
      if (end >= 0) {
        this.keep(value, piece.subarray(start, end));
        return this.to(State.AfterValue, end);
      }
    }
    this.keep(value, piece.subarray(start));
    return piece.length;
  }

  /** Hands out the streamed string's characters up to its closing quote. */
  private readStreamed(piece: Buffer, start: number): number {
    for (let i = start; i < piece.length; i++) {
      const b = piece[i]!;
      if (b < 0x20) throw new MalformedJson('a control character in a string');
      if (this.escaped) this.escaped = false;
      else if (b === BACKSLASH) this.escaped = true;
      else if (b === QUOTE) {
        this.emit(this.utf8.write(piece.subarray(start, i)) + this.utf8.end());
        if (this.pendingEscape) throw new MalformedJson('an unfinished escape');
        this.streamedEnded = true;
        return this.to(State.AfterValue, i + 1);
      }
    }
    this.emit(this.utf8.write(piece.subarray(start)));
    return piece.length;
  }

  /** Decodes JSON escapes, which may be split across pieces (an unfinished one waits in pendingEscape). */
  private emit(text: string): void {
    if (!text) return;
    if (!this.pendingEscape && !text.includes('\\')) {
      this.out.push(text);
      return;
    }
    let decoded = '';
    const input = this.pendingEscape + text;
    this.pendingEscape = '';
    for (const ch of input) {
      if (!this.pendingEscape) {
        if (ch === '\\') this.pendingEscape = ch;
        else decoded += ch;
        continue;
      }
      this.pendingEscape += ch;
      if (this.pendingEscape.length === 2 && ch !== 'u') {
        const mapped = ESCAPES[ch];
        if (mapped === undefined) throw new MalformedJson('an invalid escape');
        decoded += mapped;
        this.pendingEscape = '';
      } else if (this.pendingEscape.length === 6) {
        const hex = this.pendingEscape.slice(2);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new MalformedJson('an invalid \\u escape');
        decoded += String.fromCharCode(Number.parseInt(hex, 16));
        this.pendingEscape = '';
      }
    }
    if (decoded) this.out.push(decoded);
  }
}
