import { connect as connectHttp2, type ClientHttp2Session } from 'node:http2';
import { connect, type Socket } from 'node:net';
import { fixture } from '../support/fake-openai';
import { gate, within } from '../support/gate';
import { startHarness, type Harness } from '../support/harness';

/**
 * HTTP/2 connections are cheap to open and, left alone, never end: a client could hold ten
 * thousand idle sessions (a socket and memory each). A session with no open stream is sent GOAWAY
 * after `config.server.http2IdleTimeoutMs`; one with a stream in flight is left alone however
 * long its upstream takes. Short timeouts here; the default is 30 s.
 */

const IDLE_TIMEOUT_MS = 300;
const MAX_STREAMS = 7;
/** Long past the idle timeout: a gateway without one never closes these at all. */
const GIVE_UP_MS = 5_000;

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** An empty SETTINGS frame: length 0, type 0x4, no flags, stream 0. */
const SETTINGS = Buffer.from([0, 0, 0, 0x4, 0, 0, 0, 0, 0]);
const GOAWAY = 0x7;

interface RawConnection {
  readonly socket: Socket;
  /** Resolves, once the server has closed the connection, with the types of the frames it sent. */
  readonly closed: Promise<number[]>;
}

/** A bare TCP client that writes `bytes` and then nothing, as an idle-session flood would. */
function rawConnection(port: number, bytes: Buffer): RawConnection {
  const socket = connect(port, '127.0.0.1');
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  socket.on('error', () => {});
  socket.once('connect', () => socket.write(bytes));
  const closed = new Promise<number[]>((resolve) => socket.once('close', () => resolve(frameTypes(Buffer.concat(received)))));
  return { socket, closed };
}

function frameTypes(bytes: Buffer): number[] {
  const types: number[] = [];
  for (let at = 0; at + 9 <= bytes.byteLength; at += 9 + bytes.readUIntBE(at, 3)) types.push(bytes[at + 3] ?? -1);
  return types;
}

describe('idle HTTP/2 connections', () => {
  let harness: Harness;
  let port: number;
  const opened: Socket[] = [];

  beforeEach(async () => {
    harness = await startHarness({
      config: (baseUrl) => ({ providers: { openai: { baseUrl } }, server: { http2IdleTimeoutMs: IDLE_TIMEOUT_MS, http2MaxConcurrentStreams: MAX_STREAMS } }),
    });
    port = Number(new URL(harness.gateway.url).port);
  });
  afterEach(async () => {
    for (const socket of opened.splice(0)) socket.destroy();
    await harness.close();
  });

  it('sends GOAWAY to, and closes, sessions that sent only the preface and SETTINGS', async () => {
    // GIVEN fifty clients that open an HTTP/2 session and then say nothing more
    const clients = Array.from({ length: 50 }, () => rawConnection(port, Buffer.concat([PREFACE, SETTINGS])));
    opened.push(...clients.map((client) => client.socket));

    // THEN the gateway closes every one of them after the idle timeout, with a GOAWAY first
    const frames = await within(Promise.all(clients.map((client) => client.closed)), GIVE_UP_MS, 'idle sessions were left open');
    for (const types of frames) expect(types).toContain(GOAWAY);
  });

  it('drops connections that never finish saying which protocol they speak', async () => {
    // GIVEN one client that sends nothing, and one that sends half the HTTP/2 preface
    const silent = rawConnection(port, Buffer.alloc(0));
    const halfway = rawConnection(port, PREFACE.subarray(0, 10));
    opened.push(silent.socket, halfway.socket);

    // THEN both are closed after the idle timeout (the sniff waited 30 s before)
    await within(Promise.all([silent.closed, halfway.closed]), GIVE_UP_MS, 'connections that never spoke were left open');
  });

  it('keeps a session whose stream waits on its upstream, then closes it once it has been idle', async () => {
    // GIVEN a session whose only request the upstream holds
    const { key } = await harness.issue();
    const held = gate();
    harness.upstream.behaviour = { hold: held.promise };
    const session: ClientHttp2Session = connectHttp2(harness.gateway.url);
    let goneAwayAt: number | undefined;
    session.on('goaway', () => (goneAwayAt ??= Date.now()));
    session.on('error', () => {});
    const stream = session.request({ ':method': 'POST', ':path': '/proxy/openai/chat/completions', authorization: `Bearer ${key}`, 'content-type': 'application/json' });
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise<void>((resolve, reject) => {
      stream.once('end', resolve);
      stream.once('error', reject);
    });
    stream.end(JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] }));
    await within(
      (async () => {
        while (harness.upstream.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      })(),
      GIVE_UP_MS,
      'the request never reached the upstream',
    );

    // WHEN no byte flows for three idle timeouts, and the upstream then answers
    await new Promise((resolve) => setTimeout(resolve, 3 * IDLE_TIMEOUT_MS));
    expect(goneAwayAt).toBeUndefined();
    const answeredAt = Date.now();
    held.open();
    await within(ended, GIVE_UP_MS, 'the held response never ended');

    // THEN the response arrived whole, and only afterwards, idle, was the session sent away
    expect(Buffer.concat(chunks).equals(fixture('chat.json'))).toBe(true);
    await within(new Promise((resolve) => session.once('close', resolve)), GIVE_UP_MS, 'the idle session was left open');
    expect(goneAwayAt).toBeGreaterThanOrEqual(answeredAt);
    session.destroy();
  });

  it('advertises the configured cap on concurrent streams', async () => {
    const session = connectHttp2(harness.gateway.url);
    session.on('error', () => {});
    await within(new Promise((resolve) => session.once('remoteSettings', resolve)), GIVE_UP_MS, 'no SETTINGS from the gateway');

    expect(session.remoteSettings.maxConcurrentStreams).toBe(MAX_STREAMS);
    session.destroy();
  });
});
