import { Writable } from 'node:stream';
import type { Gateway } from '../../lambda/core/gateway';
import { bytes, type GatewayRequest, type GatewayResponse } from '../../lambda/core/http-types';
import {
  lambdaStreamingRuntime,
  localStreamingRuntime,
  serveFunctionUrl,
  toGatewayRequest,
  toResponseMetadata,
} from '../../lambda/server/lambda-stream';
import { functionUrlEvent, installRuntimeStandIn, ResponseStreamStandIn, runtimeStandIn } from './support/streaming-runtime';

/** A gateway that answers every request with `response`, remembering what it was asked. */
function gatewayAnswering(response: GatewayResponse): Gateway & { seen: GatewayRequest[] } {
  const seen: GatewayRequest[] = [];
  return {
    seen,
    async handle(request) {
      seen.push(request);
      return response;
    },
  };
}

async function text(body: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

describe('toGatewayRequest', () => {
  it('converts a function URL event once: method, path with query, lower-cased headers, cookies and a decoded body', async () => {
    // GIVEN
    const event = functionUrlEvent({
      method: 'post',
      path: '/proxy/openai/chat/completions',
      query: 'api-version=2&x=1',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer tgk_a_b' },
      cookies: ['a=1', 'b=2'],
      body: '{"model":"gpt-4o"}',
      base64: true,
    });

    // WHEN
    const request = toGatewayRequest(event);

    // THEN
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/proxy/openai/chat/completions?api-version=2&x=1');
    expect(request.headers).toMatchObject({ 'content-type': 'application/json', authorization: 'Bearer tgk_a_b', cookie: 'a=1; b=2' });
    expect(await text(request.body)).toBe('{"model":"gpt-4o"}');
  });

  it('gives an event without a body an empty one, and an empty path "/"', async () => {
    // WHEN
    const request = toGatewayRequest({ ...functionUrlEvent({ method: 'GET', path: '' }), rawPath: '' });

    // THEN
    expect(request.url).toBe('/');
    expect(await text(request.body)).toBe('');
  });
});

describe('toResponseMetadata', () => {
  it('moves set-cookie into cookies, joins other multi-value headers and drops content-length', () => {
    // WHEN
    const metadata = toResponseMetadata({
      status: 201,
      headers: { 'Set-Cookie': ['a=1; Path=/', 'b=2'], vary: ['accept', 'origin'], 'content-length': '12', 'x-request-id': 'r1' },
    });

    // THEN
    expect(metadata).toEqual({ statusCode: 201, headers: { vary: 'accept, origin', 'x-request-id': 'r1' }, cookies: ['a=1; Path=/', 'b=2'] });
  });
});

describe('serveFunctionUrl', () => {
  it('sends the prelude of an empty response, so its status is not lost', async () => {
    // GIVEN a 204 with no body bytes at all
    const gateway = gatewayAnswering({ status: 204, headers: { 'x-a': '1' }, body: bytes() });
    const stream = new ResponseStreamStandIn();

    // WHEN
    await serveFunctionUrl(gateway, functionUrlEvent({ method: 'GET', path: '/x' }), stream, runtimeStandIn);

    // THEN
    expect(stream.response()).toMatchObject({ prelude: { statusCode: 204, headers: { 'x-a': '1' }, cookies: [] } });
    expect(stream.response().body.length).toBe(0);
    expect(stream.writableEnded).toBe(true);
  });

  it('sends the prelude before the first body chunk exists, as node-http flushes a stream\'s headers', async () => {
    // GIVEN a body whose first chunk takes a while
    let preludeSentBeforeBody = false;
    const stream = new ResponseStreamStandIn();
    async function* slow(): AsyncGenerator<Uint8Array> {
      await new Promise((resolve) => setTimeout(resolve, 20));
      preludeSentBeforeBody = stream.wire.length > 0;
      yield Buffer.from('data: 1\n\n');
    }

    // WHEN
    await serveFunctionUrl(gatewayAnswering({ status: 200, headers: { 'content-type': 'text/event-stream' }, body: slow() }), functionUrlEvent({ path: '/s' }), stream, runtimeStandIn);

    // THEN
    expect(preludeSentBeforeBody).toBe(true);
    expect(stream.response().body.toString('utf8')).toBe('data: 1\n\n');
  });

  it('waits for the whole body iteration — settlement included — before resolving, and writes nothing for HEAD', async () => {
    // GIVEN a body that settles (slowly) when its iteration ends
    let settled = false;
    async function* body(): AsyncGenerator<Uint8Array> {
      try {
        yield Buffer.from('abc');
      } finally {
        await new Promise((resolve) => setTimeout(resolve, 50));
        settled = true;
      }
    }
    const stream = new ResponseStreamStandIn();

    // WHEN
    await serveFunctionUrl(gatewayAnswering({ status: 200, headers: {}, body: body() }), functionUrlEvent({ method: 'HEAD', path: '/h' }), stream, runtimeStandIn);

    // THEN
    expect(settled).toBe(true);
    expect(stream.response().prelude.statusCode).toBe(200);
    expect(stream.response().body.length).toBe(0);
  });

  it('honours backpressure: a slow stream paces the body instead of buffering it all', async () => {
    // GIVEN 64 chunks of 4 KiB and a stream that takes 2 ms per write with a 1 KiB buffer
    const chunk = Buffer.alloc(4096, 7);
    let produced = 0;
    let maxAhead = 0;
    const stream = new ResponseStreamStandIn(2);
    async function* body(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 64; i++) {
        const written = stream.wire.filter((write) => write.bytes.length === chunk.length).length;
        maxAhead = Math.max(maxAhead, produced - written);
        produced++;
        yield chunk;
      }
    }

    // WHEN
    await serveFunctionUrl(gatewayAnswering({ status: 200, headers: {}, body: body() }), functionUrlEvent({ path: '/big' }), stream, runtimeStandIn);

    // THEN every byte arrived, and the producer never ran more than a couple of chunks ahead
    expect(stream.response().body.equals(Buffer.concat(Array.from({ length: 64 }, () => chunk)))).toBe(true);
    expect(maxAhead).toBeLessThanOrEqual(2);
  });

  it('rejects without ending the stream when the body fails, so the runtime cuts the response', async () => {
    // GIVEN
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('data: 1\n\n');
      throw new Error('upstream reset');
    }
    const stream = new ResponseStreamStandIn();

    // WHEN
    const serving = serveFunctionUrl(gatewayAnswering({ status: 200, headers: {}, body: broken() }), functionUrlEvent({ path: '/s' }), stream, runtimeStandIn);

    // THEN
    await expect(serving).rejects.toThrow('upstream reset');
    expect(stream.writableEnded).toBe(false);
    expect(stream.response().body.toString('utf8')).toBe('data: 1\n\n');
  });
});

describe('the streaming runtime', () => {
  it('outside Lambda, the local shim frames the response exactly like HttpResponseStream: prelude, eight NUL bytes, body', async () => {
    // GIVEN a plain writable, as a local tool would pass
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(Buffer.from(chunk));
        callback();
      },
    });

    // WHEN
    await serveFunctionUrl(gatewayAnswering({ status: 202, headers: { 'set-cookie': 'a=1' }, body: bytes(Buffer.from('ok')) }), functionUrlEvent({ path: '/' }), sink, localStreamingRuntime);

    // THEN
    const prelude = JSON.stringify({ statusCode: 202, headers: {}, cookies: ['a=1'] });
    expect(Buffer.concat(chunks).equals(Buffer.concat([Buffer.from(prelude), Buffer.alloc(8), Buffer.from('ok')]))).toBe(true);
  });

  it('uses globalThis.awslambda only when it has streamifyResponse, not the bare object other libraries create', () => {
    // GIVEN an awslambda global holding only what @aws/lambda-invoke-store puts there
    const global = globalThis as unknown as { awslambda?: unknown };
    const saved = global.awslambda;
    global.awslambda = { InvokeStore: {} };
    try {
      // THEN the local shim is used
      expect(lambdaStreamingRuntime()).toBe(localStreamingRuntime);

      // WHEN the runtime's own global is there
      const restore = installRuntimeStandIn();
      // THEN it is used
      expect(lambdaStreamingRuntime().HttpResponseStream.from).toBe(runtimeStandIn.HttpResponseStream.from);
      restore();
    } finally {
      global.awslambda = saved;
    }
  });
});
