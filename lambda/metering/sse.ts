/** One server-sent event, as the SSE spec assembles it from its field lines. */
export interface SseEvent {
  readonly event?: string;
  readonly data: string;
}

/**
 * Incremental SSE parser: feed it chunks split anywhere (even inside a UTF-8 character or a
 * CRLF) and it emits the same events as it would for the whole stream at once.
 */
export class SseParser {
  private readonly decoder = new TextDecoder();
  private buffer = '';
  private data: string[] = [];
  private eventName: string | undefined;
  private pendingCr = false;

  constructor(private readonly onEvent: (event: SseEvent) => void) {}

  push(chunk: Uint8Array): void {
    this.consume(this.decoder.decode(chunk, { stream: true }));
  }

  end(): void {
    this.consume(this.decoder.decode());
    if (this.buffer.length > 0) this.line(this.buffer);
    this.buffer = '';
    this.dispatch();
  }

  private consume(text: string): void {
    let start = 0;
    // A CR at the very end of the last chunk may be the first half of a CRLF.
    if (this.pendingCr && text.startsWith('\n')) start = 1;
    this.pendingCr = false;
    for (let i = start; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      if (ch !== 10 && ch !== 13) continue;
      this.line(this.buffer + text.slice(start, i));
      this.buffer = '';
      if (ch === 13) {
        if (i + 1 === text.length) this.pendingCr = true;
        else if (text.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
    }
    this.buffer += text.slice(start);
  }

  private line(line: string): void {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.eventName = value;
  }

  private dispatch(): void {
    if (this.data.length > 0) {
      const event = this.eventName;
      this.onEvent(event === undefined ? { data: this.data.join('\n') } : { event, data: this.data.join('\n') });
    }
    this.data = [];
    this.eventName = undefined;
  }
}
