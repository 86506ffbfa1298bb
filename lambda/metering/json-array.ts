import { TextBuffer } from './text-buffer';

/**
 * Incremental splitter for a streamed top-level JSON array (`[{...},\n{...}]`), the shape
 * Gemini's `streamGenerateContent` sends without `alt=sse`. Emits each element's text as soon
 * as it closes; chunks may split anywhere, including inside strings and UTF-8 characters.
 * Only object and array elements are emitted: that is all such streams contain.
 *
 * It holds at most one element, up to `maxBufferedBytes` (counted in UTF-16 units, which never
 * outnumber the bytes they came from): past it, whatever the chunking, the splitter stops and
 * sets {@link overflowed}.
 *
 * @example
 * const splitter = new JsonArraySplitter((text) => reader.onMessage({ framing: 'json-array', data: text }), 16 * 1024 * 1024);
 */
export class JsonArraySplitter {
  private readonly decoder = new TextDecoder();
  /** The open element's text so far. */
  private readonly element = new TextBuffer();
  private depth = 0;
  private inString = false;
  private escaped = false;
  private stopped = false;

  constructor(
    private readonly onElement: (text: string) => void,
    private readonly maxBufferedBytes: number,
  ) {}

  /** An element outgrew `maxBufferedBytes`: nothing after it was split. */
  get overflowed(): boolean {
    return this.stopped;
  }

  /** Inside the array (or before it opened), between two elements. */
  get between(): boolean {
    return !this.stopped && this.depth <= 1 && !this.inString;
  }

  push(chunk: Uint8Array): void {
    if (!this.stopped) this.consume(this.decoder.decode(chunk, { stream: true }));
  }

  end(): void {
    if (!this.stopped) this.consume(this.decoder.decode());
  }

  private consume(text: string): void {
    let start = this.depth >= 2 ? 0 : -1;
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (ch === '\\') this.escaped = true;
        else if (ch === '"') this.inString = false;
        continue;
      }
      if (ch === '"') {
        this.inString = true;
      } else if (ch === '{' || ch === '[') {
        this.depth++;
        if (this.depth === 2) start = i;
      } else if (ch === '}' || ch === ']') {
        this.depth--;
        if (this.depth === 1) {
          this.flush(text.slice(start, i + 1));
          if (this.stopped) return;
        }
      }
    }
    if (start === -1 || this.depth < 2) return;
    if (this.element.length + (text.length - start) > this.maxBufferedBytes) return this.overflow();
    this.element.append(text.slice(start));
  }

  private flush(tail: string): void {
    if (this.element.length + tail.length > this.maxBufferedBytes) return this.overflow();
    this.onElement(this.element.take(tail));
  }

  private overflow(): void {
    this.stopped = true;
    this.element.clear();
  }
}
