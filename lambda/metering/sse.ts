import { TextBuffer } from './text-buffer';

/** One server-sent event, as the SSE spec assembles it from its field lines. */
export interface SseEvent {
  readonly event?: string;
  readonly data: string;
}

const LF = 10;
const CR = 13;
// The regular expression engine steps over a run of line breaks ~3× faster than a charCodeAt loop.
const NOT_A_LINE_BREAK = /[^\r\n]/g;

/**
 * Incremental SSE parser: feed it chunks split anywhere (even inside a UTF-8 character or a
 * CRLF) and it emits the same events as it would for the whole stream at once.
 *
 * It holds at most one line and one event's data, each up to `maxBufferedBytes` (counted in
 * UTF-16 units, which never outnumber the bytes they were decoded from). A line or an event
 * larger than that is not something a provider sends to report usage: the parser stops there
 * and sets {@link overflowed}, whatever the chunking, and the bytes still reach the client.
 *
 * @example
 * const parser = new SseParser((event) => reader.onMessage({ framing: 'sse', ...event }), 16 * 1024 * 1024);
 * for (const chunk of chunks) parser.push(chunk);
 * parser.end();
 * if (parser.overflowed) giveUp();
 */
export class SseParser {
  private readonly decoder = new TextDecoder();
  /** The line read so far, its end not yet seen. */
  private readonly buffer = new TextBuffer();
  /** The event's data lines, joined with newlines as they come. */
  private readonly data = new TextBuffer();
  private hasData = false;
  private eventName: string | undefined;
  private pendingCr = false;
  private stopped = false;

  constructor(
    private readonly onEvent: (event: SseEvent) => void,
    private readonly maxBufferedBytes: number,
  ) {}

  /** A line or an event outgrew `maxBufferedBytes`: nothing after it was parsed. */
  get overflowed(): boolean {
    return this.stopped;
  }

  /** No line, field or event is partly read: the stream stands after a blank line (or a comment). */
  get between(): boolean {
    return !this.stopped && this.buffer.length === 0 && !this.hasData && this.eventName === undefined;
  }

  push(chunk: Uint8Array): void {
    if (!this.stopped) this.consume(this.decoder.decode(chunk, { stream: true }));
  }

  end(): void {
    if (this.stopped) return;
    this.consume(this.decoder.decode());
    if (this.buffer.length > 0) this.line(this.buffer.take());
    if (!this.stopped) this.dispatch();
  }

  private consume(text: string): void {
    let start = 0;
    // A CR at the very end of the last chunk may be the first half of a CRLF.
    if (this.pendingCr && text.charCodeAt(0) === LF) start = 1;
    this.pendingCr = false;
    // The next LF and CR, each searched for natively and again only once passed: one scan of the text.
    let lf = text.indexOf('\n', start);
    let cr = text.indexOf('\r', start);
    while (lf !== -1 || cr !== -1) {
      const end = cr === -1 || (lf !== -1 && lf < cr) ? lf : cr;
      if (end === start && this.buffer.length === 0) {
        this.dispatch();
        // After a blank line nothing is pending, so the blank lines that follow are no-ops: step
        // over the whole run at once (a stream of nothing but line breaks costs a scan, no more).
        NOT_A_LINE_BREAK.lastIndex = end + 1;
        start = NOT_A_LINE_BREAK.exec(text)?.index ?? text.length;
        if (start === text.length && text.charCodeAt(start - 1) === CR) this.pendingCr = true;
      } else {
        if (this.buffer.length + (end - start) > this.maxBufferedBytes) return this.overflow();
        this.line(this.buffer.length === 0 ? text.slice(start, end) : this.buffer.take(text.slice(start, end)));
        if (this.stopped) return;
        start = end + 1;
        if (end === cr) {
          if (start === text.length) this.pendingCr = true;
          else if (text.charCodeAt(start) === LF) start++;
        }
      }
      if (lf !== -1 && lf < start) lf = text.indexOf('\n', start);
      if (cr !== -1 && cr < start) cr = text.indexOf('\r', start);
    }
    if (start === text.length) return;
    if (this.buffer.length + (text.length - start) > this.maxBufferedBytes) return this.overflow();
    this.buffer.append(text.slice(start));
  }

  private line(line: string): void {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      if (this.data.length + (this.hasData ? 1 : 0) + value.length > this.maxBufferedBytes) return this.overflow();
      if (this.hasData) this.data.append('\n');
      this.data.append(value);
      this.hasData = true;
    } else if (field === 'event') this.eventName = value;
  }

  private dispatch(): void {
    const event = this.eventName;
    this.eventName = undefined;
    if (!this.hasData) return;
    this.hasData = false;
    const data = this.data.take();
    this.onEvent(event === undefined ? { data } : { event, data });
  }

  private overflow(): void {
    this.stopped = true;
    this.buffer.clear();
    this.data.clear();
    this.hasData = false;
  }
}
