import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { parseConfig } from '../../lambda/config/config';
import { envCredentials } from '../../lambda/config/credentials';
import { createGateway } from '../../lambda/core/gateway';
import { silentLogger } from '../../lambda/core/log';
import { createUpstreamAgent } from '../../lambda/core/upstream';
import { InvocationDeadline } from '../../lambda/handlers/deadline';
import { issueKey } from '../../lambda/keys/issue-key';
import { Pricer } from '../../lambda/pricing/pricer';
import { createNodeServer } from '../../lambda/server/node-http';
import { openSqliteStore } from '../../lambda/store/sqlite';
import { converseStreamFrames } from '../support/bedrock-eventstream';
import { anthropicFixture } from '../support/fake-anthropic';
import { glaFixture } from '../support/fake-gemini-api';
import { fixture, splitEvents } from '../support/fake-openai';
import { startFaultyUpstream, type FaultyUpstream } from '../support/faulty-upstream';

const TIME_LIMIT = "The gateway's time limit for this request ran out; the response is incomplete.";

/** Milliseconds the invocation has in these tests: the upstreams stall far longer. */
const REMAINING_MS = 300;

interface StreamCase {
  readonly name: string;
  readonly contentType: string;
  /** What the upstream sends before it goes quiet. */
  chunks(): Buffer[];
  readonly path: string;
  readonly body: Record<string, unknown>;
  /** The message the client reads last, out of the bytes it got. */
  lastError(body: Buffer): unknown;
  /** That message, as the format puts it. */
  readonly expected: unknown;
}

const sseData = (body: Buffer) => body.toString('utf8').replaceAll('\r\n', '\n').trimEnd().split('\n\n').at(-1)!;
const lastSseJson = (body: Buffer) => JSON.parse(sseData(body).replace(/^(event: \S+\n)?data: /, '')) as unknown;

const CASES: readonly StreamCase[] = [
  {
    name: 'OpenAI chat (an error chunk)',
    contentType: 'text/event-stream',
    chunks: () => splitEvents(fixture('chat-stream.sse')).slice(0, 2),
    path: '/proxy/openai/chat/completions',
    body: { model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'Hi' }] },
    lastError: lastSseJson,
    expected: { error: { message: TIME_LIMIT, type: expect.any(String), param: null, code: 'upstream_timeout' } },
  },
  {
    name: 'OpenAI responses (an error event)',
    contentType: 'text/event-stream',
    chunks: () => splitEvents(fixture('responses-stream.sse')).slice(0, 2),
    path: '/proxy/openai/responses',
    body: { model: 'gpt-4o', stream: true, input: 'Hi' },
    lastError: (body) => ({ event: /^event: (\S+)/.exec(sseData(body))?.[1], data: lastSseJson(body) }),
    expected: { event: 'error', data: expect.objectContaining({ type: 'error', message: TIME_LIMIT }) },
  },
  {
    name: 'Anthropic (event: error)',
    contentType: 'text/event-stream',
    chunks: () => splitEvents(anthropicFixture('message-stream.sse')).slice(0, 3),
    path: '/proxy/anthropic/v1/messages',
    body: { model: 'claude-sonnet-4-20250514', max_tokens: 1024, stream: true, messages: [{ role: 'user', content: 'Hi' }] },
    lastError: lastSseJson,
    expected: { type: 'error', error: { type: expect.any(String), message: TIME_LIMIT } },
  },
  {
    name: 'Gemini API (an error element)',
    contentType: 'text/event-stream',
    chunks: () => splitEvents(glaFixture('stream.sse')).slice(0, 1),
    path: '/proxy/google-gla/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse',
    body: { contents: [{ role: 'user', parts: [{ text: 'Hi' }] }], generationConfig: { maxOutputTokens: 50 } },
    lastError: lastSseJson,
    expected: { error: { code: 504, message: TIME_LIMIT, status: expect.any(String) } },
  },
  {
    name: 'Bedrock ConverseStream (an exception frame)',
    contentType: 'application/vnd.amazon.eventstream',
    chunks: () => converseStreamFrames().slice(0, 2),
    path: `/proxy/bedrock/model/${encodeURIComponent('anthropic.claude-3-5-sonnet-20240620-v1:0')}/converse-stream`,
    body: { messages: [{ role: 'user', content: [{ text: 'Hi' }] }], inferenceConfig: { maxTokens: 50 } },
    lastError: (body) => {
      const frames = splitFrames(body);
      const last = codec.decode(frames.at(-1)!);
      return { type: last.headers[':exception-type']?.value, body: JSON.parse(Buffer.from(last.body).toString('utf8')) as unknown };
    },
    expected: { type: expect.any(String), body: { message: TIME_LIMIT } },
  },
];

const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes).toString('utf8'),
  (text) => Buffer.from(text, 'utf8'),
);

/** An event stream's frames, by the total length each one's prelude gives. */
function splitFrames(bytes: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  for (let at = 0; at + 4 <= bytes.length; ) {
    const length = bytes.readUInt32BE(at);
    frames.push(bytes.subarray(at, at + length));
    at += length;
  }
  return frames;
}

/**
 * A stream still running when the Lambda invocation nears its timeout is stopped by the gateway
 * (lambda/handlers/deadline.ts), not by the provider: the error that ends it says so, in every
 * format's own stream error.
 */
interface DeadlineGateway {
  readonly url: string;
  readonly deadline: InvocationDeadline;
  readonly key: string;
  close(): Promise<void>;
}

/** The core as the Lambda proxy wires it (its upstream calls under an invocation deadline), behind node:http, with every provider at `upstream`. */
async function startDeadlineGateway(upstream: FaultyUpstream): Promise<DeadlineGateway> {
  const config = parseConfig(
    {
      providers: {
        openai: { baseUrl: `${upstream.origin}/v1` },
        anthropic: { baseUrl: upstream.origin },
        'google-gla': { baseUrl: upstream.origin },
        bedrock: { baseUrl: upstream.origin, options: { region: 'us-east-1' } },
      },
    },
    'test',
  );
  const store = openSqliteStore({ dataDir: ':memory:' });
  // No settle margin: the upstream is stopped when the invocation's time is up.
  const deadline = new InvocationDeadline(0);
  const env = {
    OPENAI_API_KEY: 'sk-test',
    ANTHROPIC_API_KEY: 'sk-ant-test',
    GEMINI_API_KEY: 'gemini-test',
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  };
  const gateway = createGateway({
    config,
    store,
    pricer: new Pricer(config.prices),
    upstream: deadline.bind(createUpstreamAgent(config.upstream)),
    credential: envCredentials(env),
    env,
    logger: silentLogger,
  });
  const server: Server = createNodeServer(gateway, undefined, config.server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { key } = await issueKey(store, { project: 'acme' });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    deadline,
    key,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await store.close();
    },
  };
}

const post = (gateway: DeadlineGateway, path: string, body: unknown) =>
  fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gateway.key}`, 'x-api-key': gateway.key, 'x-goog-api-key': gateway.key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify(body),
  });

/**
 * A stream still running when the Lambda invocation nears its timeout is stopped by the gateway
 * (lambda/handlers/deadline.ts), not by the provider: the error that ends it says so, in every
 * format's own stream error.
 */
describe.each(CASES)('a stream the invocation deadline stops: $name', (format) => {
  let upstream: FaultyUpstream;
  let gateway: DeadlineGateway;

  beforeAll(async () => {
    upstream = await startFaultyUpstream({ kind: 'stall', contentType: format.contentType, chunks: format.chunks() });
    gateway = await startDeadlineGateway(upstream);
  });

  afterAll(async () => {
    await gateway.close();
    await upstream.close();
  });

  it('ends with the gateway’s time limit as the reason, never the provider breaking off', async () => {
    // WHEN the request runs in an invocation with REMAINING_MS left, its upstream stalled after a first event
    const body = await gateway.deadline.during(REMAINING_MS, async () => {
      const response = await post(gateway, format.path, format.body);
      expect(response.status).toBe(200);
      return Buffer.from(await response.arrayBuffer());
    });

    // THEN what the upstream sent arrived, followed by the format's own error naming the gateway's time limit
    const sent = Buffer.concat(format.chunks());
    expect(body.subarray(0, sent.length).equals(sent)).toBe(true);
    expect(format.lastError(body)).toEqual(format.expected);
    expect(body.toString('latin1')).not.toContain('broke off');
  });
});

describe('a request the invocation deadline stops before the provider answered', () => {
  it('is answered 504 naming the gateway’s time limit, not a provider failure', async () => {
    // GIVEN a provider that takes the request and never answers
    const upstream = await startFaultyUpstream({ kind: 'hang' });
    const gateway = await startDeadlineGateway(upstream);
    try {
      // WHEN the invocation's time runs out first
      const response = await gateway.deadline.during(REMAINING_MS, () => post(gateway, CASES[0]!.path, { ...CASES[0]!.body, stream: false }));

      // THEN
      expect(response.status).toBe(504);
      expect(await response.json()).toEqual({
        error: { message: `The gateway's time limit for this request ran out before the upstream provider at ${new URL(upstream.origin).host} answered.`, type: expect.any(String), param: null, code: 'upstream_timeout' },
      });
      expect(upstream.requests).toHaveLength(1);
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });
});
