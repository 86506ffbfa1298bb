import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { expectedNanos, GATEWAY_AWS_CREDENTIALS, startBedrockHarness, type BedrockHarness } from '../support/bedrock-harness';

const NOVA_PROFILE = 'us.amazon.nova-pro-v1:0';
const MESSAGES = [{ role: 'user' as const, content: [{ text: 'Hi' }] }];
const CONVERSE_NANOS = expectedNanos({ input_tokens: 12 + 1024 + 1024, cache_read_tokens: 1024, cache_write_tokens: 1024, output_tokens: 10 }, NOVA_PROFILE);

function sdkClient(harness: BedrockHarness, key: string): BedrockRuntimeClient {
  return new BedrockRuntimeClient({
    endpoint: `${harness.gateway.url}/proxy/bedrock`,
    region: 'us-east-1',
    token: { token: key },
    authSchemePreference: ['httpBearerAuth'],
  });
}

describe('Bedrock credentials', () => {
  let harness: BedrockHarness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });

  it('sends a configured Bedrock API key as a bearer token, unsigned', async () => {
    // GIVEN a gateway whose Bedrock credential is an API key, and no AWS credentials at all
    const apiKey = 'ABSKQmVkcm9ja0FQSUtleS10ZXN0LWF0LTEyMzQ1Njc4OTAxMjp0b2xsZ2F0ZQ==';
    harness = await startBedrockHarness({
      expect: { kind: 'bearer', apiKey },
      provider: (baseUrl) => ({ baseUrl, credential: { env: 'BEDROCK_CREDENTIAL' } }),
      env: { BEDROCK_CREDENTIAL: apiKey },
    });
    const { key, record } = await harness.issue();
    const client = sdkClient(harness, key);

    // WHEN
    await client.send(new ConverseCommand({ modelId: NOVA_PROFILE, messages: MESSAGES }));
    client.destroy();

    // THEN the fake saw exactly the API key (it refuses anything else, and any x-amz-* header)
    expect(harness.upstream.refusals).toEqual([]);
    expect(harness.upstream.requests[0]?.headers.authorization).toBe(`Bearer ${apiKey}`);
    expect(JSON.stringify(harness.upstream.requests[0]?.headers)).not.toContain(key);
    expect(await harness.settledSpend(record.id)).toMatchObject({ nanos: CONVERSE_NANOS, requests: 1 });
  });

  it('signs with a configured access key given as JSON, session token included', async () => {
    const credentials = { accessKeyId: 'AKIACONFIGUREDKEY001', secretAccessKey: 'configured/secret+Key00000000000000000000', sessionToken: 'FwoGZXIvYXdzEXAMPLEsessiontoken' };
    harness = await startBedrockHarness({
      expect: { kind: 'sigv4', credentials, region: 'eu-west-1' },
      provider: (baseUrl) => ({ baseUrl, credential: { env: 'BEDROCK_CREDENTIAL' }, options: { region: 'eu-west-1' } }),
      // The configured key wins over the environment's.
      env: { BEDROCK_CREDENTIAL: JSON.stringify(credentials), AWS_ACCESS_KEY_ID: GATEWAY_AWS_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: 'unused' },
    });
    const { key } = await harness.issue();
    const client = sdkClient(harness, key);

    const output = await client.send(new ConverseCommand({ modelId: NOVA_PROFILE, messages: MESSAGES }));
    client.destroy();

    expect(output.stopReason).toBe('end_turn');
    expect(harness.upstream.refusals).toEqual([]);
    expect(harness.upstream.requests[0]?.headers['x-amz-security-token']).toBe(credentials.sessionToken);
    expect(harness.upstream.requests[0]?.headers.authorization).toContain('/eu-west-1/bedrock/aws4_request');
  });

  it('passes the upstream’s refusal through when the gateway’s own AWS credentials are wrong', async () => {
    // GIVEN AWS credentials whose secret the fake does not know
    harness = await startBedrockHarness({
      env: { AWS_ACCESS_KEY_ID: GATEWAY_AWS_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: 'not-the-secret-the-fake-expects' },
    });
    const { key } = await harness.issue();
    const client = sdkClient(harness, key);

    const failure = await client.send(new ConverseCommand({ modelId: NOVA_PROFILE, messages: MESSAGES })).catch((e: unknown) => e);
    client.destroy();

    expect(harness.upstream.refusals).toEqual(['signature does not match']);
    expect(failure).toMatchObject({ name: 'InvalidSignatureException', $metadata: { httpStatusCode: 403 } });
  });

  it('refuses a credential that is JSON but not an access key, without echoing it', async () => {
    harness = await startBedrockHarness({
      provider: (baseUrl) => ({ baseUrl, credential: { env: 'BEDROCK_CREDENTIAL' } }),
      env: { BEDROCK_CREDENTIAL: '{"accessKeyId":"AKIAONLYHALFOFAKEY01"}' },
    });
    const { key } = await harness.issue();

    const response = await fetch(`${harness.gateway.url}/proxy/bedrock/model/${NOVA_PROFILE}/converse`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: MESSAGES }),
    });

    expect(response.status).toBe(500);
    const body = await response.text();
    expect(JSON.parse(body)).toEqual({ __type: 'InternalServerException', message: expect.stringContaining('accessKeyId') });
    expect(body).not.toContain('AKIAONLYHALFOFAKEY01');
    expect(harness.upstream.requests).toEqual([]);
  });
});

describe('Bedrock with no AWS credentials anywhere', () => {
  const saved = { ...process.env };
  beforeAll(() => {
    // The default chain reads the process's environment and files: point it at nothing, and never at instance metadata.
    for (const name of Object.keys(process.env)) if (name.startsWith('AWS_')) delete process.env[name];
    Object.assign(process.env, { AWS_EC2_METADATA_DISABLED: 'true', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials', AWS_CONFIG_FILE: '/nonexistent/config' });
  });
  afterAll(() => {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  });

  it('answers with a clear error in Bedrock’s shape, only when Bedrock is called', async () => {
    const harness = await startBedrockHarness({ env: {} });
    const { key } = await harness.issue();

    const response = await fetch(`${harness.gateway.url}/proxy/bedrock/model/${NOVA_PROFILE}/converse`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: MESSAGES }),
    });

    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ __type: 'InternalServerException', message: expect.stringContaining('found no AWS credentials') });
    expect(harness.upstream.requests).toEqual([]);
    await harness.close();
  });
});
