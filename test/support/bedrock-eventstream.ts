import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventStreamCodec } from '@smithy/eventstream-codec';

/**
 * Builds Bedrock's event-stream responses from the recorded events in `test/fixtures/bedrock`,
 * framed with the same codec the AWS SDK decodes them with.
 */
const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes).toString('utf8'),
  (text) => Buffer.from(text, 'utf8'),
);

export function bedrockFixture(name: string): Buffer {
  return readFileSync(join(__dirname, '..', 'fixtures', 'bedrock', name));
}

function fixtureJson<T>(name: string): T {
  return JSON.parse(bedrockFixture(name).toString('utf8')) as T;
}

export function eventFrame(eventType: string, payload: unknown): Buffer {
  return Buffer.from(
    codec.encode({
      headers: {
        ':event-type': { type: 'string', value: eventType },
        ':content-type': { type: 'string', value: 'application/json' },
        ':message-type': { type: 'string', value: 'event' },
      },
      body: Buffer.from(JSON.stringify(payload), 'utf8'),
    }),
  );
}

/** What Bedrock sends when the model fails after the stream has started. */
export function exceptionFrame(exceptionType: string, message: string): Buffer {
  return Buffer.from(
    codec.encode({
      headers: {
        ':exception-type': { type: 'string', value: exceptionType },
        ':content-type': { type: 'string', value: 'application/json' },
        ':message-type': { type: 'string', value: 'exception' },
      },
      body: Buffer.from(JSON.stringify({ message }), 'utf8'),
    }),
  );
}

/** ConverseStream: one frame per event, the event's name in `:event-type`. */
export function converseStreamFrames(): Buffer[] {
  return fixtureJson<{ type: string; payload: unknown }[]>('converse-stream.events.json').map(({ type, payload }) => eventFrame(type, payload));
}

/** The Anthropic events an InvokeModelWithResponseStream call yields, as the model emits them. */
export function anthropicStreamEvents(): Record<string, unknown>[] {
  return fixtureJson<Record<string, unknown>[]>('invoke-stream-anthropic.events.json');
}

/** InvokeModelWithResponseStream: each model event base64-encoded in a `chunk` event's `bytes`. */
export function invokeStreamFrames(events = anthropicStreamEvents()): Buffer[] {
  return events.map((event, index) =>
    eventFrame('chunk', { bytes: Buffer.from(JSON.stringify(event), 'utf8').toString('base64'), p: 'abcdefghijklmnopqrstuvwxyz'.slice(0, 4 + index) }),
  );
}
