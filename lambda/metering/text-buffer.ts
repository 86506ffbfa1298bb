/** Past this many pieces, pieces are joined once they outnumber their text's length / PIECE_COST. */
const MIN_PIECES = 64;
/** Roughly what V8 spends on a string and its array slot beyond its characters, in bytes. */
const PIECE_COST = 32;

/**
 * Text gathered from many pieces: a line split across chunks, an event's data lines, a stream
 * element. `+=` would keep one string object per piece, whatever its length: a 16 MiB line sent
 * a byte per chunk would hold ~512 MiB. Here the pieces are joined whenever their count
 * outweighs their text, so what is held stays within a small multiple of `length`, for an
 * amortised handful of copies per character; pieces of ordinary chunk size are never joined early.
 *
 * @example
 * const line = new TextBuffer();
 * line.append('data: {"a"');
 * line.append(':1}');
 * line.take(); // 'data: {"a":1}', and the buffer is empty again
 */
export class TextBuffer {
  private parts: string[] = [];
  private size = 0;

  /** In UTF-16 units. */
  get length(): number {
    return this.size;
  }

  append(text: string): void {
    if (text.length === 0) return;
    this.parts.push(text);
    this.size += text.length;
    if (this.parts.length >= MIN_PIECES && this.parts.length * PIECE_COST > this.size) this.parts = [this.parts.join('')];
  }

  /** Everything appended, then `tail`; the buffer is left empty. */
  take(tail = ''): string {
    const parts = this.parts;
    const text = parts.length === 0 ? tail : parts.length === 1 ? (parts[0] as string) + tail : parts.join('') + tail;
    this.clear();
    return text;
  }

  clear(): void {
    if (this.size === 0) return;
    this.parts = [];
    this.size = 0;
  }
}
