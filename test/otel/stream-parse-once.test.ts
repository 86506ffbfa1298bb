import { FORMAT_CALLS, sendCall, type FormatCall } from '../support/format-calls';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver';
import { startTracedGateway, type TracedGateway } from '../support/traced-gateway';

const RESPONSES_STREAM: FormatCall = {
  name: 'openai responses',
  streams: true,
  path: '/proxy/openai/responses',
  body: { model: 'gpt-4o', input: 'Hi', stream: true },
  expect: FORMAT_CALLS[1]!.expect,
};

/** The SSE calls: their events are the `data` the gateway's readers see, as the client gets them. */
const SSE_CALLS = [...FORMAT_CALLS.filter((call) => call.streams && !call.path.includes('/bedrock/')), RESPONSES_STREAM];

/** Each event's `data`, as an SSE parser joins it. */
function eventData(body: Buffer): string[] {
  return body
    .toString('utf8')
    .split(/\r?\n\r?\n/)
    .map((event) =>
      event
        .split(/\r?\n/)
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5))
        .join('\n'),
    )
    .filter((data) => data !== '');
}

/**
 * With tracing on, a stream's events are read twice: for usage (metering) and for the span's
 * response id, model and finish reasons. Neither reader parses an event the other parsed already.
 */
describe('a traced stream', () => {
  let receiver: OtlpReceiver;
  let traced: TracedGateway;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    traced = await startTracedGateway({ tracing: { export: { endpoint: receiver.url, protocol: 'http/protobuf' }, queue: { delayMs: 5 } } });
  });
  afterAll(async () => {
    await traced.close();
    await receiver.close();
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it.each(SSE_CALLS.map((call) => [call.name, call] as const))('%s: each event is parsed at most once, and the span still has what the events say', async (_name, call) => {
    // GIVEN every JSON.parse of the process watched
    const issued = await traced.issue();
    const before = receiver.spans.length;
    const parse = jest.spyOn(JSON, 'parse');

    // WHEN
    const response = await sendCall(traced.gateway.url, call, issued.key);
    const nanos = await traced.lifetimeNanos(issued.record.id);
    await receiver.waitForSpans(before + 2);
    const parsed = parse.mock.calls.map(([text]) => text);
    parse.mockRestore();

    // THEN no event of the stream was parsed twice
    expect(response.status).toBe(200);
    const events = eventData(response.body).filter((data) => data.startsWith('{'));
    expect(events.length).toBeGreaterThan(1);
    const parsedTwice = events.filter((data) => parsed.filter((text) => text === data).length > 1);
    expect(parsedTwice).toEqual([]);
    // AND both readers still read them: the request was priced, and its span names the response
    expect(nanos).toBeGreaterThan(0);
    const server = receiver.spans.slice(before).find((span) => span.kind === 2)!;
    expect(server.attributes['gen_ai.response.model']).toEqual(expect.any(String));
    expect(server.attributes['gen_ai.response.id']).toEqual(expect.any(String));
    expect(server.attributes['gen_ai.response.finish_reasons']).toEqual(expect.arrayContaining([expect.any(String)]));
  });
});
