import { connect } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import type { AddressInfo, Server } from 'node:net';
import { request, Agent } from 'undici';
import { GatewayError } from '../../lambda/core/errors';
import type { Gateway } from '../../lambda/core/gateway';
import { bytes } from '../../lambda/core/http-types';
import { readBody } from '../../lambda/core/read-body';
import { createNodeServer } from '../../lambda/server/node-http';
import { requestBody } from '../../lambda/server/request-body';

/**
 * The node:http adapter hands the core the request body as its own async iterable. A stand-in
 * core reads it the way the gateway does (readBody, with a limit) and answers with what it read.
 */
describe('the request body the node:http adapter hands the core', () => {
  const LIMIT = 64 * 1024;
  let server: Server;
  let origin: string;
  let agent: Agent;
  const seen: { outcome: string }[] = [];

  beforeAll(async () => {
    const core: Gateway = {
      async handle(req) {
        try {
          const body = await readBody(req.body, LIMIT);
          seen.push({ outcome: `read ${body.byteLength}` });
          return { status: 200, headers: { 'content-length': String(body.byteLength) }, body: bytes(body) };
        } catch (error) {
          seen.push({ outcome: error instanceof Error ? error.message : String(error) });
          const status = error instanceof GatewayError ? error.status : 500;
          const text = Buffer.from(error instanceof GatewayError ? error.code : 'failed');
          return { status, headers: { 'content-length': String(text.byteLength) }, body: bytes(text) };
        }
      },
    };
    server = createNodeServer(core);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    agent = new Agent({ connections: 1 });
  });
  afterAll(async () => {
    await agent.close();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    seen.length = 0;
  });

  it('arrives whole and in order when sent in many chunks', async () => {
    // GIVEN a body written in 200 pieces, each a different byte
    const pieces = Array.from({ length: 200 }, (_, i) => Buffer.alloc(100, i % 256));
    async function* slowly(): AsyncGenerator<Buffer> {
      for (const [i, piece] of pieces.entries()) {
        if (i % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
        yield piece;
      }
    }

    // WHEN it is posted
    const response = await request(`${origin}/echo`, { method: 'POST', body: Readable.from(slowly()), dispatcher: agent });

    // THEN the core read exactly those bytes
    expect(response.statusCode).toBe(200);
    expect(Buffer.from(await response.body.arrayBuffer())).toEqual(Buffer.concat(pieces));
  });

  it('answers a body over the limit with the core error, closes that connection rather than drain it, and serves the next request', async () => {
    // WHEN a body four times the limit is posted, then a small one through the same one-connection pool
    const large = await request(`${origin}/echo`, { method: 'POST', body: Buffer.alloc(LIMIT * 4, 1), dispatcher: agent });
    const largeText = await large.body.text();
    const small = await request(`${origin}/echo`, { method: 'POST', body: 'hello', dispatcher: agent });

    // THEN the first gets the gateway's own error on a connection it closes, and the second is read normally
    expect(large.statusCode).toBe(413);
    expect(largeText).toBe('body_too_large');
    expect(large.headers['connection']).toBe('close');
    expect(small.statusCode).toBe(200);
    expect(await small.body.text()).toBe('hello');
  });

  it('fails the read, and keeps serving, when the client goes away in the middle of its body', async () => {
    // GIVEN a request that promises 1000 bytes and sends 10 before closing
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(new URL(origin).port), '127.0.0.1', () => {
        socket.write('POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n0123456789', () => setTimeout(() => socket.destroy(), 20));
      });
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });

    // THEN the core saw a failed read, not a short body, and the server still answers
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen).toHaveLength(1);
    expect(seen[0]?.outcome).not.toMatch(/^read /);
    const after = await request(`${origin}/echo`, { method: 'POST', body: 'still here', dispatcher: agent });
    expect(await after.body.text()).toBe('still here');
  });
});

describe('the request body iterator on its own', () => {
  it('fails at once, not never, when the request was gone before reading began', async () => {
    const req = new PassThrough();
    req.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    await expect(requestBody(req)[Symbol.asyncIterator]().next()).rejects.toThrow(/closed the connection/);
  });

  it('ends at once when the request had already ended', async () => {
    const req = new PassThrough();
    req.end();
    req.resume();
    await new Promise((resolve) => req.once('end', resolve));
    expect(await requestBody(req)[Symbol.asyncIterator]().next()).toEqual({ done: true, value: undefined });
  });

  it('answers a pending read when the consumer returns early', async () => {
    const req = new PassThrough();
    const iterator = requestBody(req)[Symbol.asyncIterator]();
    const pending = iterator.next();
    await iterator.return?.();
    expect(await pending).toEqual({ done: true, value: undefined });
  });

  it('leaves the rest of the body unread when the consumer returns early', async () => {
    // GIVEN a consumer that read one chunk and stopped (a body over the limit)
    const req = new PassThrough();
    const iterator = requestBody(req)[Symbol.asyncIterator]();
    req.write('a');
    await iterator.next();
    await iterator.return?.();

    // WHEN more of the body arrives
    req.write(Buffer.alloc(1000));
    await new Promise((resolve) => setImmediate(resolve));

    // THEN it is not read and dropped: it waits, for the adapter to close the connection
    expect(req.readableLength).toBe(1000);
  });

  it('wakes every read waiting at once', async () => {
    const req = new PassThrough();
    const iterator = requestBody(req)[Symbol.asyncIterator]();
    const first = iterator.next();
    const second = iterator.next();
    req.end(Buffer.from('a'));
    const results = await Promise.all([first, second]);
    expect(results.map((r) => r.done)).toEqual([false, true]);
  });
});
