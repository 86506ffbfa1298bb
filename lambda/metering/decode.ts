import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

/**
 * The client gets the upstream's bytes as they are, compressed or not; the meter reads a
 * decompressed copy. Decompression runs beside the pass-through and never delays it.
 */
export interface Decoder {
  push(chunk: Uint8Array): void;
  /** Resolves once every decoded byte has reached the sink. Never rejects: a broken copy only loses metering. */
  end(): Promise<{ ok: boolean }>;
}

export function createDecoder(contentEncoding: string | undefined, sink: (chunk: Uint8Array) => void): Decoder {
  const transform = decompressor(contentEncoding?.trim().toLowerCase());
  if (!transform) {
    return {
      push: sink,
      end: async () => ({ ok: true }),
    };
  }
  let ok = true;
  transform.on('data', (chunk: Buffer) => sink(chunk));
  const finished = new Promise<{ ok: boolean }>((resolve) => {
    transform.once('end', () => resolve({ ok }));
    transform.once('error', () => {
      ok = false;
      resolve({ ok });
    });
  });
  return {
    push(chunk) {
      if (ok) transform.write(chunk);
    },
    end() {
      transform.end();
      return finished;
    },
  };
}

function decompressor(encoding: string | undefined): Transform | undefined {
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      return undefined;
  }
}
