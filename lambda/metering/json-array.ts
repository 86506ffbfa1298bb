/**
 * Incremental splitter for a streamed top-level JSON array (`[{...},\n{...}]`), the shape
 * Gemini's `streamGenerateContent` sends without `alt=sse`. Emits each element's text as soon
 * as it closes; chunks may split anywhere, including inside strings and UTF-8 characters.
 * Only object and array elements are emitted: that is all such streams contain.
 */
export class JsonArraySplitter {
  private readonly decoder = new TextDecoder();
  private element = '';
  private depth = 0;
  private inString = false;
  private escaped = false;

  constructor(private readonly onElement: (text: string) => void) {}

  push(chunk: Uint8Array): void {
    this.consume(this.decoder.decode(chunk, { stream: true }));
  }

  end(): void {
    this.consume(this.decoder.decode());
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
        if (this.depth === 1) this.flush(text.slice(start, i + 1));
      }
    }
    if (start !== -1 && this.depth >= 2) this.element += text.slice(start);
  }

  private flush(tail: string): void {
    const element = this.element + tail;
    this.element = '';
    this.onElement(element);
  }
}
