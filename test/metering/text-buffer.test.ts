import fc from 'fast-check';
import { TextBuffer } from '../../lambda/metering/text-buffer';

describe('TextBuffer', () => {
  it('gives back exactly what was appended, in order, however many pieces (joined early or not)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 40 }), { maxLength: 600 }), fc.string({ maxLength: 5 }), (pieces, tail) => {
        const buffer = new TextBuffer();
        for (const piece of pieces) buffer.append(piece);

        expect(buffer.length).toBe(pieces.join('').length);
        expect(buffer.take(tail)).toBe(pieces.join('') + tail);
        expect(buffer.length).toBe(0);
        expect(buffer.take()).toBe('');
      }),
      { numRuns: 200 },
    );
  });

  it('is empty again after clear', () => {
    const buffer = new TextBuffer();
    for (let i = 0; i < 100; i++) buffer.append('x');
    buffer.clear();
    buffer.append('y');

    expect(buffer.take()).toBe('y');
  });
});
