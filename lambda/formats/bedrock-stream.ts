import type { StreamMessage } from '../metering/framing';
import { tierFromDocument } from './bedrock-tier';
import { countsDocument, countsFromMetrics, type InvocationCounts } from './bedrock-usage';
import { isObject, parseJson } from './shared';
import type { Metered, StreamUsageReader, UsageDocument } from './types';

/**
 * Usage readers for Bedrock's event streams. Each message is `:message-type` `event` (named by
 * `:event-type`), or `exception` / `error` when the model fails mid-stream — after a 200, so only
 * the stream itself can say the request failed.
 */

/** ConverseStream: usage comes once, in the `metadata` event, after `messageStop`. */
export function converseStreamReader(): StreamUsageReader {
  let usage: UsageDocument | undefined;
  let tier: Pick<Metered, 'tier'> = {};
  let failure: string | undefined;
  return {
    onMessage(message) {
      if (message.framing !== 'aws-eventstream') return undefined;
      failure ??= failureOf(message);
      if (message.headers[':event-type'] !== 'metadata') return undefined;
      const payload = parseJson(message.data);
      if (isObject(payload) && isObject(payload['usage'])) {
        usage = { flavor: 'default', doc: payload };
        tier = tierFromDocument(payload);
      }
      return payload;
    },
    result: () => ({ ...metered(usage, failure), ...tier }),
  };
}

/**
 * InvokeModelWithResponseStream: each `chunk` event carries the model's own event, base64 in
 * `bytes`. Bedrock adds `amazon-bedrock-invocationMetrics` to the last one for every model; an
 * Anthropic model's `message_start` and `message_delta` usage stand in when a stream is cut (by an
 * exception) before that last chunk, so the tokens already spent are still recorded.
 */
export function invokeStreamReader(): StreamUsageReader {
  let counts: InvocationCounts | undefined;
  let started: Record<string, unknown> | undefined;
  let delta: Record<string, unknown> | undefined;
  let failure: string | undefined;
  return {
    onMessage(message) {
      if (message.framing !== 'aws-eventstream') return undefined;
      failure ??= failureOf(message);
      if (message.headers[':event-type'] !== 'chunk') return undefined;
      const payload = parseJson(message.data);
      const bytes = isObject(payload) ? payload['bytes'] : undefined;
      if (typeof bytes !== 'string') return payload;
      const text = Buffer.from(bytes, 'base64').toString('utf8');
      // Most chunks are content deltas; only these few carry usage.
      if (!text.includes('usage') && !text.includes('invocationMetrics')) return payload;
      const event = parseJson(text);
      if (!isObject(event)) return payload;
      const metrics = event['amazon-bedrock-invocationMetrics'];
      if (isObject(metrics)) counts = countsFromMetrics(metrics) ?? counts;
      const startMessage = event['type'] === 'message_start' ? event['message'] : undefined;
      if (isObject(startMessage) && isObject(startMessage['usage'])) started = startMessage['usage'];
      if (event['type'] === 'message_delta' && isObject(event['usage'])) delta = { ...delta, ...event['usage'] };
      return payload;
    },
    result() {
      if (counts) return metered(countsDocument(counts), failure);
      // message_delta's counts are cumulative and, when present, supersede message_start's.
      const usage = started || delta ? { flavor: 'anthropic', doc: { usage: { ...started, ...delta } } } : undefined;
      return metered(usage, failure);
    },
  };
}

function failureOf(message: StreamMessage & { framing: 'aws-eventstream' }): string | undefined {
  const kind = message.headers[':message-type'];
  if (kind === 'exception') {
    const payload = parseJson(message.data);
    const detail = isObject(payload) && typeof payload['message'] === 'string' ? `: ${payload['message']}` : '';
    return `${message.headers[':exception-type'] ?? 'exception'}${detail}`;
  }
  if (kind === 'error') return `${message.headers[':error-code'] ?? 'error'}: ${message.headers[':error-message'] ?? ''}`;
  return undefined;
}

function metered(usage: UsageDocument | undefined, failure: string | undefined): Metered {
  return { ...(usage && { usage }), ...(failure !== undefined && { failure }) };
}

