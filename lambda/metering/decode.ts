import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

/** How the decoded copy ended. Anything but `complete` stops at once, and the pass-through never notices. */
export type DecodeEnd =
  | { readonly kind: 'complete' }
  /** The compressed bytes would not decode. */
  | { readonly kind: 'corrupt' }
  /** Inflating further would have passed `maxDecodedBytes`. */
  | { readonly kind: 'decoded-limit' }
  /** The sink asked for no more (its parser overflowed). */
  | { readonly kind: 'sink-stopped' }
  /** The sink threw: `error` is what it threw, for the caller to name, never to rethrow. */
  | { readonly kind: 'sink-failed'; readonly error: unknown };

/**
 * The client gets the upstream's bytes as they are, compressed or not; the meter reads a
 * decompressed copy. Decompression runs beside the pass-through and never delays it.
 */
export interface Decoder {
  /** Never throws, whatever the sink does. */
  push(chunk: Uint8Array): void;
  /** Resolves once every decoded byte has reached the sink, or decoding stopped. Never rejects: a broken copy only loses metering. */
  end(): Promise<DecodeEnd>;
}

const COMPLETE: DecodeEnd = { kind: 'complete' };

/**
 * `sink` gets each decoded chunk and returns false once it wants no more. A sink that throws is
 * stopped like one that says no more: a metering fault never reaches the response, nor (from
 * inside the decompressor's `data` event) the process. `maxDecodedBytes` bounds what a
 * compressed body is inflated to, so a zip bomb costs a bounded amount of CPU and memory.
 *
 * @example
 * const decoder = createDecoder('gzip', (chunk) => { parser.push(chunk); return !parser.overflowed; }, 128 * 1024 * 1024);
 * for await (const chunk of body) decoder.push(chunk);
 * const ended = await decoder.end();
 */
export function createDecoder(contentEncoding: string | undefined, sink: (chunk: Uint8Array) => boolean, maxDecodedBytes: number): Decoder {
  const transform = decompressor(contentEncoding);
  let ended: DecodeEnd | undefined;
  let finish: (end: DecodeEnd) => void = () => {};
  const finished = new Promise<DecodeEnd>((resolve) => (finish = resolve));
  const stop = (end: DecodeEnd): void => {
    if (ended !== undefined) return;
    ended = end;
    // Stop inflating what is already queued: nobody will read it.
    transform?.destroy();
    finish(end);
  };
  const feed = (chunk: Uint8Array): void => {
    try {
      if (!sink(chunk)) stop({ kind: 'sink-stopped' });
    } catch (error) {
      stop({ kind: 'sink-failed', error });
    }
  };
  if (!transform) {
    return {
      push(chunk) {
        if (ended === undefined) feed(chunk);
      },
      end: () => Promise.resolve(ended ?? COMPLETE),
    };
  }

  let decoded = 0;
  transform.on('data', (chunk: Buffer) => {
    if (ended !== undefined) return;
    decoded += chunk.byteLength;
    if (decoded > maxDecodedBytes) stop({ kind: 'decoded-limit' });
    else feed(chunk);
  });
  transform.once('end', () => stop(COMPLETE));
  // `on`, not `once`: a second error with no listener would be thrown at the process.
  transform.on('error', () => stop({ kind: 'corrupt' }));
  return {
    push(chunk) {
      if (ended === undefined) transform.write(chunk);
    },
    end() {
      if (ended === undefined) transform.end();
      return finished;
    },
  };
}

/** The compressions metering can undo. */
export type ContentCoding = 'gzip' | 'deflate' | 'br';

/** The compression a `Content-Encoding` header names, if it is one metering can undo. */
export function contentCoding(header: string | undefined): ContentCoding | undefined {
  switch (header?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return 'gzip';
    case 'deflate':
      return 'deflate';
    case 'br':
      return 'br';
    default:
      return undefined;
  }
}

const DECOMPRESSORS: Readonly<Record<ContentCoding, () => Transform>> = { gzip: createGunzip, deflate: createInflate, br: createBrotliDecompress };

/** A streaming decompressor for the coding a `Content-Encoding` header names; undefined if none, or one that cannot be undone. */
export function decompressor(header: string | undefined): Transform | undefined {
  const coding = contentCoding(header);
  return coding && DECOMPRESSORS[coding]();
}
