import { createHash } from 'node:crypto';
import type { StagedContent } from '../../../dossier/evidence-chunks.js';
import { isUtf8Charset } from '../../../http/body-parsers.js';
import { BufferedTooLarge, MalformedJson, StreamedJsonObject } from '../../../http/streamed-json.js';
import { errors } from '../../../shared/errors.js';
import { base64Field, base64Length, NOT_BASE64, tooLarge } from '../../media.js';

/**
 * The capture upload's body, read as it arrives (issue 10: large captures never live in memory). The wire contract is
 * unchanged: one JSON object with base64 fields, covered by the device signature's `bh`. Every byte is hashed as it
 * arrives; the `video` string is decoded incrementally and written to a sink (sealed, staged evidence chunks) and
 * never held whole; every other member (the images included: the face model needs them whole) is kept, bounded, and
 * parsed by the JSON parser at the end. The request then compares the hash with `bh` as for any other device body.
 */

/** Where the video's bytes go as they are decoded: the staged chunks of its evidence item. */
export interface VideoSink {
  write(bytes: Buffer): Promise<void>;
  finish(): Promise<StagedContent>;
  discard(): Promise<void>;
}

/** How many leading bytes of the video are kept: enough to detect its media type. */
const HEAD_BYTES = 64;

/**
 * The `video` member as the streamed parse leaves it in the body: its first refusal (the same words the schema's
 * base64 field gives), its decoded size and first bytes, and its staged content (null when refused, or when the
 * request had nowhere to stage it: its handler then refuses the capture).
 */
export class StreamedVideo {
  constructor(
    readonly problem: string | null,
    readonly size: number,
    readonly head: Buffer,
    readonly staged: StagedContent | null,
  ) {}
}

export interface CaptureBodyLimits {
  /** The whole body, in bytes (the route's body limit). */
  body: number;
  /** The members kept in memory (everything but the video), in bytes. */
  buffered: number;
  /** The video, decoded. */
  videoBytes: number;
}

export interface CaptureBodyDeps {
  limits: CaptureBodyLimits;
  /** Opens the sink for a video once one arrives; null when this request has nowhere to stage one. */
  openSink(): Promise<VideoSink | null>;
  /** The JSON parser every other body goes through (prototype-poisoning checks included). */
  parse(text: string): Promise<unknown>;
}

export interface CaptureBody {
  /** The parsed body, `video` a StreamedVideo; undefined for an empty body. */
  body: unknown;
  /** base64url SHA-256 of every byte received, to compare with `bh`. */
  digest: string;
}

const NUL_ESCAPE = Buffer.from('\\u0000');

/**
 * Reads a capture body: the same refusals as the buffered JSON parser (400 malformed or NUL, 413 too large, 415 not
 * UTF-8), and on any failure whatever was staged is discarded before the error goes on.
 */
export async function readCaptureBody(payload: AsyncIterable<Buffer>, contentType: string | undefined, deps: CaptureBodyDeps): Promise<CaptureBody> {
  const reader = new CaptureReader(deps);
  try {
    for await (const piece of payload) await reader.feed(piece, contentType);
    return await reader.end();
  } catch (error) {
    await reader.discard();
    if (error instanceof MalformedJson) throw errors.invalidRequest('The request body is not valid JSON.');
    if (error instanceof BufferedTooLarge) throw bodyTooLarge();
    throw error;
  }
}

class CaptureReader {
  private readonly hash = createHash('sha256');
  private readonly json: StreamedJsonObject;
  private received = 0;
  private tail = Buffer.alloc(0);
  private video: Base64Stream | null = null;
  private result: StreamedVideo | null = null;

  constructor(private readonly deps: CaptureBodyDeps) {
    this.json = new StreamedJsonObject({ streamedKey: 'video', maxBuffered: deps.limits.buffered });
  }

  async feed(piece: Buffer, contentType: string | undefined): Promise<void> {
    if (!piece.length) return;
    if (this.received === 0 && !isUtf8Charset(contentType)) throw errors.unsupportedMediaType('JSON bodies must be UTF-8.');
    this.received += piece.length;
    if (this.received > this.deps.limits.body) throw bodyTooLarge();
    this.hash.update(piece);
    this.refuseNul(piece);
    this.json.feed(piece);
    const texts = this.json.take();
    if (texts.length || this.json.streamedEnded) this.video ??= new Base64Stream(await this.deps.openSink(), this.deps.limits.videoBytes);
    for (const text of texts) await this.video?.write(text);
    if (this.json.streamedEnded && this.video && !this.result) this.result = await this.video.finish();
  }

  async end(): Promise<CaptureBody> {
    const digest = this.hash.digest('base64url');
    if (this.received === 0) return { body: undefined, digest };
    const body = await this.deps.parse(this.json.rest());
    if (this.result) (body as { video?: StreamedVideo }).video = this.result;
    return { body, digest };
  }

  async discard(): Promise<void> {
    await this.video?.discard();
  }

  /** No field holds a NUL character (PostgreSQL text cannot store one): refused as the buffered parser does. */
  private refuseNul(piece: Buffer): void {
    const seam = Buffer.concat([this.tail, piece.subarray(0, NUL_ESCAPE.length - 1)]);
    if (seam.includes(NUL_ESCAPE) || piece.includes(NUL_ESCAPE))
      throw errors.invalidRequest('The body holds a NUL character (\\u0000), which no field may hold.');
    this.tail = Buffer.from(piece.subarray(Math.max(0, piece.length - (NUL_ESCAPE.length - 1))));
  }
}

const bodyTooLarge = () => errors.payloadTooLarge('The request body is larger than this endpoint accepts.');

/**
 * The video's base64 text, checked and decoded as it arrives: the schema's rules (at least 4 characters, at most
 * base64Length(max), the base64 alphabet then at most two `=`) and Node's base64 decoding, applied piece by piece.
 * Once the text is refused nothing more is written, and what was staged is discarded.
 */
class Base64Stream {
  private length = 0;
  private padding = 0;
  private bad = false;
  private carry = '';
  private start = '';
  private size = 0;
  private readonly head = Buffer.alloc(HEAD_BYTES);

  constructor(
    private sink: VideoSink | null,
    private readonly maxBytes: number,
  ) {}

  async write(text: string): Promise<void> {
    if (this.start.length < 4) this.start += text.slice(0, 4 - this.start.length);
    this.length += text.length;
    this.bad ||= !this.valid(text);
    if (!this.usable()) return this.discard();
    const data = this.carry + text.replace(/=+$/, '');
    const whole = data.length - (data.length % 4);
    this.carry = data.slice(whole);
    if (whole) await this.output(Buffer.from(data.slice(0, whole), 'base64'));
  }

  async finish(): Promise<StreamedVideo> {
    if (this.usable() && this.carry) await this.output(Buffer.from(this.carry, 'base64'));
    const problem = this.problem();
    const head = Buffer.from(this.head.subarray(0, Math.min(this.size, HEAD_BYTES)));
    if (problem || !this.sink) {
      await this.discard();
      return new StreamedVideo(problem, this.size, head, null);
    }
    return new StreamedVideo(null, this.size, head, await this.sink.finish());
  }

  async discard(): Promise<void> {
    const sink = this.sink;
    this.sink = null;
    await sink?.discard();
  }

  /** The schema's first refusal of this text, in its words. */
  private problem(): string | null {
    // Shorter than 4 characters: the whole text is at hand, and the schema itself words the refusal.
    if (this.length < 4) return base64Field(this.maxBytes).safeParse(this.start).error?.issues[0]?.message ?? null;
    if (this.length > base64Length(this.maxBytes)) return tooLarge(this.maxBytes);
    return this.bad ? NOT_BASE64 : null;
  }

  private usable(): boolean {
    return !this.bad && this.length <= base64Length(this.maxBytes);
  }

  /** The base64 alphabet, then at most two `=` at the very end (which may arrive in a later piece). */
  private valid(text: string): boolean {
    if (this.padding > 0) {
      this.padding += text.length;
      return /^=*$/.test(text) && this.padding <= 2;
    }
    const match = /^[A-Za-z0-9+/]*(=*)$/.exec(text);
    this.padding = match?.[1]?.length ?? 0;
    return match !== null && this.padding <= 2;
  }

  private async output(bytes: Buffer): Promise<void> {
    if (this.size < HEAD_BYTES) bytes.copy(this.head, this.size, 0, Math.min(bytes.length, HEAD_BYTES - this.size));
    this.size += bytes.length;
    await this.sink?.write(bytes);
  }
}
