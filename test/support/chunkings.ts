import fc from 'fast-check';

/**
 * Ways to cut `bytes` into chunks, as a network or a decompressor might: random split points,
 * plus points picked on purpose where a parser is most easily caught out, between the CR and LF
 * of a CRLF and inside a multi-byte UTF-8 character.
 */
export function chunkings(bytes: Uint8Array, maxSplits = 24): fc.Arbitrary<Uint8Array[]> {
  if (bytes.length < 2) return fc.constant([bytes]);
  const awkward: number[] = [];
  for (let at = 1; at < bytes.length; at++) {
    const byte = bytes[at] as number;
    // After a CR, or before a UTF-8 continuation byte (0b10xxxxxx).
    if (bytes[at - 1] === 0x0d || (byte & 0xc0) === 0x80) awkward.push(at);
  }
  return fc
    .tuple(fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: maxSplits }), fc.subarray(awkward, { maxLength: Math.min(maxSplits, awkward.length) }))
    .map(([random, chosen]) => splitAt(bytes, [...new Set([...random, ...chosen])].sort((a, b) => a - b)));
}

/** Bytes and a chunking of them, for properties over arbitrary input. */
export function chunked(bytes: fc.Arbitrary<Uint8Array>): fc.Arbitrary<{ readonly whole: Uint8Array; readonly chunks: Uint8Array[] }> {
  return bytes.chain((whole) => chunkings(whole).map((chunks) => ({ whole, chunks })));
}

/** Text built from the pieces a format's parser cares about, as UTF-8: reaches more of its branches than uniform random bytes. */
export function textOf(pieces: readonly string[], maxLength = 200): fc.Arbitrary<Uint8Array> {
  return fc.array(fc.constantFrom(...pieces), { maxLength }).map((parts) => Buffer.from(parts.join(''), 'utf8'));
}

function splitAt(bytes: Uint8Array, points: readonly number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}
