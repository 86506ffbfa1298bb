import Anthropic from '@anthropic-ai/sdk';
import { BedrockRuntimeClient, ConverseCommand } from '@aws-sdk/client-bedrock-runtime';
import { ApiError, GoogleGenAI } from '@google/genai';
import Groq from 'groq-sdk';
import OpenAI from 'openai';
import { cachedPolicies } from '../../lambda/keys/policy-cache';
import type { AccessLists, Store } from '../../lambda/store/port';
import { GATEWAY_AWS_CREDENTIALS, REGION } from '../support/bedrock-harness';
import { startFakeBedrock, type FakeBedrock } from '../support/fake-bedrock';
import { ANTHROPIC_UPSTREAM_KEY, startFakeAnthropic, type FakeAnthropic } from '../support/fake-anthropic';
import { LOCATION, PROJECT, startFakeGoogle, type FakeGoogle } from '../support/fake-google';
import { GROQ_UPSTREAM_KEY, startFakeGroq, type FakeGroq } from '../support/fake-groq';
import { startHarness, type Harness } from '../support/harness';
import { recordingLogger } from '../support/recording-logger';
import { serviceAccount } from '../support/vertex-harness';
import { storesUnderTest } from './support';

/** One API as its official SDK calls it: what it takes to call it, and what a refusal looks like to the caller. */
interface Api {
  readonly name: string;
  readonly route: string;
  /** A model the fake upstream serves and the gateway can price. */
  readonly model: string;
  /** Resolves with the answer's text on success; rejects with the SDK's own error. */
  call(key: string, model: string, route?: string): Promise<string>;
  /** Requests the fake upstream has seen (token mints included). */
  hits(): number;
  /** The refusal as the SDK surfaced it: asserts its SDK-specific shape, returns the message a user reads. */
  refusal(error: unknown, code: string): string;
}

const BEDROCK_SONNET_ARN = 'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-20240620-v1:0';

describe.each(storesUnderTest())('allow-lists of routes and models, on $name', (storeUnderTest) => {
  let store: Store;
  let harness: Harness;
  let anthropic: FakeAnthropic;
  let groq: FakeGroq;
  let google: FakeGoogle;
  let bedrock: FakeBedrock;
  let logger: ReturnType<typeof recordingLogger>;
  let projects = 0;

  beforeAll(async () => {
    store = await storeUnderTest.open();
    anthropic = await startFakeAnthropic();
    groq = await startFakeGroq();
    google = await startFakeGoogle(serviceAccount());
    bedrock = await startFakeBedrock({ kind: 'sigv4', credentials: GATEWAY_AWS_CREDENTIALS, region: REGION });
    logger = recordingLogger();
    harness = await startHarness({
      store,
      logger,
      config: (openaiBaseUrl) => ({
        providers: {
          openai: { baseUrl: openaiBaseUrl },
          anthropic: { baseUrl: anthropic.baseUrl },
          groq: { baseUrl: groq.baseUrl },
          'google-vertex': { baseUrl: google.baseUrl, options: { project: PROJECT, location: LOCATION, tokenUrl: google.tokenUrl } },
          bedrock: { baseUrl: bedrock.baseUrl, options: { region: REGION } },
        },
        routes: { pool: { members: [{ provider: 'openai' }] } },
        // No record cache: each test changes lists and expects the very next request to see them.
        limits: { keyCacheTtlMs: 0 },
      }),
      env: {
        ANTHROPIC_API_KEY: ANTHROPIC_UPSTREAM_KEY,
        GROQ_API_KEY: GROQ_UPSTREAM_KEY,
        GOOGLE_APPLICATION_CREDENTIALS_JSON: serviceAccount().json,
        AWS_ACCESS_KEY_ID: GATEWAY_AWS_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: GATEWAY_AWS_CREDENTIALS.secretAccessKey,
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    });
  });
  afterAll(async () => {
    await harness.close();
    await Promise.all([anthropic.close(), groq.close(), google.close(), bedrock.close()]);
    await storeUnderTest.close();
  });

  /** A key in a project of its own, each with the given lists. */
  async function keyWith(access: { project?: AccessLists; key?: AccessLists }): Promise<{ key: string; id: string; project: string }> {
    const project = `team-${++projects}`;
    await store.createProject({ name: project, createdAt: new Date().toISOString(), ...(access.project && { access: access.project }) });
    const issued = await harness.issue({ project, ...(access.key && { access: access.key }) });
    return { key: issued.key, id: issued.record.id, project };
  }

  const base = (route: string) => `${harness.gateway.url}/proxy/${route}`;

  const apis: Api[] = [
    {
      name: 'OpenAI chat, openai SDK',
      route: 'openai',
      model: 'gpt-4o',
      async call(key, model, route = 'openai') {
        const client = new OpenAI({ apiKey: key, baseURL: base(route), maxRetries: 0 });
        const answer = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hi' }] });
        return answer.choices[0]?.message.content ?? '';
      },
      hits: () => harness.upstream.requests.length,
      refusal(error, code) {
        expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
        const failure = error as InstanceType<typeof OpenAI.PermissionDeniedError>;
        expect(failure.status).toBe(403);
        expect(failure.code).toBe(code);
        expect(failure.type).toBe('permission_error');
        return failure.message.replace(/^403 /, '');
      },
    },
    {
      name: 'Anthropic messages, @anthropic-ai/sdk',
      route: 'anthropic',
      model: 'claude-sonnet-4-20250514',
      async call(key, model, route = 'anthropic') {
        const client = new Anthropic({ authToken: key, baseURL: base(route), maxRetries: 0 });
        const message = await client.messages.create({ model, max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] });
        return message.content[0]?.type === 'text' ? message.content[0].text : '';
      },
      hits: () => anthropic.requests.length,
      refusal(error) {
        expect(error).toBeInstanceOf(Anthropic.PermissionDeniedError);
        const body = (error as InstanceType<typeof Anthropic.PermissionDeniedError>).error as { type: string; error: { type: string; message: string } };
        expect(body.type).toBe('error');
        expect(body.error.type).toBe('permission_error');
        return body.error.message;
      },
    },
    {
      name: 'Groq chat, groq-sdk',
      route: 'groq',
      model: 'llama-3.3-70b-versatile',
      async call(key, model, route = 'groq') {
        const client = new Groq({ apiKey: key, baseURL: base(route), maxRetries: 0 });
        const answer = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hi' }] });
        return answer.choices[0]?.message.content ?? '';
      },
      hits: () => groq.requests.length,
      refusal(error, code) {
        expect(error).toBeInstanceOf(Groq.PermissionDeniedError);
        const failure = error as InstanceType<typeof Groq.PermissionDeniedError>;
        expect(failure.status).toBe(403);
        const body = failure.error as { error?: { code?: string; message?: string } } | undefined;
        expect(body?.error?.code).toBe(code);
        return body?.error?.message ?? '';
      },
    },
    {
      name: 'Gemini on Vertex, @google/genai',
      route: 'google-vertex',
      model: 'gemini-2.5-flash',
      async call(key, model, route = 'google-vertex') {
        const ai = new GoogleGenAI({ vertexai: true, project: 'p', location: 'us-east1', apiKey: key, httpOptions: { baseUrl: base(route) } });
        return (await ai.models.generateContent({ model, contents: 'Hi' })).text ?? '';
      },
      hits: () => google.requests.length + google.mints.length,
      refusal(error) {
        expect(error).toBeInstanceOf(ApiError);
        expect((error as ApiError).status).toBe(403);
        const body = JSON.parse((error as ApiError).message) as { error: { code: number; status: string; message: string } };
        expect(body.error).toMatchObject({ code: 403, status: 'PERMISSION_DENIED' });
        return body.error.message;
      },
    },
    {
      name: 'Bedrock Converse, @aws-sdk/client-bedrock-runtime',
      route: 'bedrock',
      model: 'us.amazon.nova-pro-v1:0',
      async call(key, model, route = 'bedrock') {
        const client = new BedrockRuntimeClient({ endpoint: base(route), region: REGION, token: { token: key }, authSchemePreference: ['httpBearerAuth'], maxAttempts: 1 });
        try {
          const output = await client.send(new ConverseCommand({ modelId: model, messages: [{ role: 'user', content: [{ text: 'Hi' }] }] }));
          return output.output?.message?.content?.[0]?.text ?? '';
        } finally {
          client.destroy();
        }
      },
      hits: () => bedrock.requests.length,
      refusal(error) {
        expect(error).toMatchObject({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } });
        return (error as Error).message;
      },
    },
  ];

  describe.each(apis)('$name', (api) => {
    it('serves a route and model both lists allow', async () => {
      // GIVEN a project that allows the route, and a key that allows the model by a glob
      const { key } = await keyWith({ project: { routes: [api.route, 'other-*'] }, key: { models: [`${api.model.slice(0, 4)}*`] } });
      const before = api.hits();

      // WHEN
      const text = await api.call(key, api.model);

      // THEN it reached the provider and came back
      expect(text.length).toBeGreaterThan(0);
      expect(api.hits()).toBeGreaterThan(before);
    });

    it('refuses a model off the key’s list before anything reaches the provider, in the API’s own error shape', async () => {
      // GIVEN a key allowed only another model
      const { key, id } = await keyWith({ key: { models: ['some-other-model-*'] } });
      const before = api.hits();

      // WHEN
      const error = await api.call(key, api.model).then(() => undefined, (e: unknown) => e);

      // THEN the SDK shows a permission error that says what is allowed; nothing went upstream
      expect(api.refusal(error, 'model_not_allowed')).toBe(
        `Gateway key ${id} may not use model "${api.model}" on route "${api.route}": the key allows only the models some-other-model-*.`,
      );
      expect(api.hits()).toBe(before);
    });

    it('refuses a route off the project’s list before anything reaches the provider', async () => {
      // GIVEN a project allowed only other routes
      const { key, id, project } = await keyWith({ project: { routes: ['pool', 'other-*'] } });
      const before = api.hits();

      // WHEN
      const error = await api.call(key, api.model).then(() => undefined, (e: unknown) => e);

      // THEN
      expect(api.refusal(error, 'route_not_allowed')).toBe(
        `Gateway key ${id} may not use route "${api.route}": its project "${project}" allows only the routes pool, other-*.`,
      );
      expect(api.hits()).toBe(before);
    });
  });

  const [openai, anthropicApi, , , bedrockApi] = apis as [Api, Api, Api, Api, Api];

  it('takes a key’s lists as narrowing its project’s: a request must pass both', async () => {
    // GIVEN a project that allows gpt-* and claude-* models, and a key that allows gpt-4o* and claude-*… of which the project allows only gpt-4o*
    const { key, id, project } = await keyWith({ project: { models: ['gpt-*', 'claude-*'], routes: ['openai'] }, key: { models: ['gpt-4o*', 'o3*'], routes: ['openai', 'anthropic'] } });
    const before = harness.upstream.requests.length + anthropic.requests.length;

    // THEN what both allow passes
    expect(await openai.call(key, 'gpt-4o')).toBeTruthy();
    // the project allows gpt-4.1, the key does not
    expect(openai.refusal(await openai.call(key, 'gpt-4.1').catch((e: unknown) => e), 'model_not_allowed')).toContain('the key allows only the models gpt-4o*, o3*.');
    // the key allows o3, the project does not: a key cannot widen its project
    expect(openai.refusal(await openai.call(key, 'o3').catch((e: unknown) => e), 'model_not_allowed')).toBe(
      `Gateway key ${id} may not use model "o3" on route "openai": its project "${project}" allows only the models gpt-*, claude-*.`,
    );
    // the key allows route anthropic, the project does not
    expect(anthropicApi.refusal(await anthropicApi.call(key, 'claude-sonnet-4-20250514').catch((e: unknown) => e), 'route_not_allowed')).toContain(
      `its project "${project}" allows only the routes openai.`,
    );
    expect(harness.upstream.requests.length + anthropic.requests.length).toBe(before + 1);
  });

  it('checks the route name the caller used: an alias or a group is a name of its own', async () => {
    // GIVEN a key allowed route "pool" (a group whose one member is the openai account) but not "openai"
    const { key } = await keyWith({ key: { routes: ['pool'] } });

    // THEN the group serves, through the openai account
    expect(await openai.call(key, 'gpt-4o', 'pool')).toBeTruthy();
    // and neither the account's own name nor an alias of it is allowed by that
    for (const route of ['openai', 'chat']) {
      const error = await openai.call(key, 'gpt-4o', route).catch((e: unknown) => e);
      expect(openai.refusal(error, 'route_not_allowed')).toContain(`may not use route "${route}": the key allows only the routes pool.`);
    }
  });

  it('checks free calls (model listings, token counts) for their route only', async () => {
    // GIVEN a key allowed route openai and model gpt-5* only
    const { key } = await keyWith({ key: { routes: ['openai'], models: ['gpt-5*'] } });
    const client = new OpenAI({ apiKey: key, baseURL: base('openai'), maxRetries: 0 });

    // THEN listing models and reading one run no model, so pass whatever model they name
    expect((await client.models.list()).data.map((model) => model.id)).toEqual(['gpt-4o']);
    expect((await client.models.retrieve('gpt-4o')).id).toBe('gpt-4o');
    // but a free call on another route is still refused
    const countTokens = await fetch(`${base('anthropic')}/v1/messages/count_tokens`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4-20250514', messages: [{ role: 'user', content: 'Hi' }] }),
    });
    expect(countTokens.status).toBe(403);
    expect(countTokens.headers.get('x-tollgate-error')).toBe('route_not_allowed');
  });

  it('matches * and ? over the whole name, case included', async () => {
    const { key } = await keyWith({ key: { models: ['gpt-4?', 'GPT-4.1'] } });

    expect(await openai.call(key, 'gpt-4o')).toBeTruthy();
    for (const refused of ['gpt-4o-mini', 'gpt-4.1', 'xgpt-4o']) {
      expect(openai.refusal(await openai.call(key, refused).catch((e: unknown) => e), 'model_not_allowed')).toContain(`model "${refused}"`);
    }
  });

  it('allows a Bedrock model by the id in the path or the model it is priced as', async () => {
    // GIVEN a key allowed the bare Sonnet id: the ARN that names it prices as that id
    const { key } = await keyWith({ key: { models: ['anthropic.claude-3-5-sonnet-*'] } });

    // THEN the ARN passes, and an inference profile priced under its own id does not
    expect(await bedrockApi.call(key, BEDROCK_SONNET_ARN)).toBeTruthy();
    const refused = bedrockApi.refusal(await bedrockApi.call(key, 'us.amazon.nova-pro-v1:0').catch((e: unknown) => e), 'model_not_allowed');
    expect(refused).toContain('may not use model "us.amazon.nova-pro-v1:0" on route "bedrock"');

    // AND a list of ARNs allows the ARN, which is priced as the id it ends with
    const arns = await keyWith({ key: { models: ['arn:aws:bedrock:*'] } });
    expect(await bedrockApi.call(arns.key, BEDROCK_SONNET_ARN)).toBeTruthy();
  });

  it('sees a changed list on the next request once the record cache has expired (here: no cache)', async () => {
    // GIVEN a key that works
    const { key, id, project } = await keyWith({});
    expect(await openai.call(key, 'gpt-4o')).toBeTruthy();

    // WHEN the project is narrowed, then the key
    await store.updateProject(project, { access: { models: ['gpt-5*'] } });
    expect(openai.refusal(await openai.call(key, 'gpt-4o').catch((e: unknown) => e), 'model_not_allowed')).toContain(`its project "${project}"`);
    await store.updateProject(project, { access: null });
    await store.updateKey(id, { access: { routes: ['anthropic'] } });
    expect(openai.refusal(await openai.call(key, 'gpt-4o').catch((e: unknown) => e), 'route_not_allowed')).toContain('the key allows only');

    // WHEN cleared, it works again
    await store.updateKey(id, { access: null });
    expect(await openai.call(key, 'gpt-4o')).toBeTruthy();
  });

  it('logs a refusal with its code, and records no spend and no reservation for it', async () => {
    const { key, id } = await keyWith({ key: { models: ['nothing-*'] } });
    logger.lines.length = 0;

    await openai.call(key, 'gpt-4o').catch(() => undefined);

    expect(logger.lines).toEqual([expect.objectContaining({ event: 'request_rejected', fields: expect.objectContaining({ route: 'openai', status: 403, code: 'model_not_allowed' }) })]);
    expect(await store.getSpend({ kind: 'key', id })).toEqual([]);
    expect(await store.expiredReservations(new Date(Date.now() + 365 * 86_400_000))).toEqual([]);
  });

  it('lists in /proxy/models only the routes and models the key may use', async () => {
    const { key } = await keyWith({ project: { routes: ['openai', 'chat', 'anthropic'] }, key: { models: ['gpt-4o*', 'claude-sonnet-4*'] } });

    const response = await fetch(`${harness.gateway.url}/proxy/models`, { headers: { authorization: `Bearer ${key}` } });
    const body = (await response.json()) as { routes: { route: string; aliases: string[]; models: string[] }[] };

    expect(body.routes.map((route) => [route.route, route.aliases])).toEqual([
      ['openai', ['chat']],
      ['anthropic', []],
    ]);
    const models = body.routes.flatMap((route) => route.models);
    expect(models).toContain('gpt-4o');
    expect(models).toContain('claude-sonnet-4-5');
    expect(models.every((model) => model.startsWith('gpt-4o') || model.startsWith('claude-sonnet-4'))).toBe(true);
  });
});

describe('the record cache and allow-lists', () => {
  it('serves the lists a record had when it was read, for the cache TTL, then the new ones', async () => {
    const [sqlite] = storesUnderTest();
    const store = await sqlite!.open();
    try {
      // GIVEN a key whose policy was just read, through a 5 s cache on a clock we move
      await store.createProject({ name: 'acme', createdAt: '2026-11-27T10:00:00.000Z' });
      await store.createKey({ id: 'k1', hash: 'h', prefix: 'p', project: 'acme', createdAt: '2026-11-27T10:00:00.000Z' });
      let now = 0;
      const policies = cachedPolicies(store, 5_000, () => now);
      expect((await policies.load('k1'))?.project?.access).toBeUndefined();

      // WHEN the project's lists change
      await store.updateProject('acme', { access: { models: ['gpt-5*'] } });

      // THEN a running gateway keeps the old ones until its copy expires, and no longer
      now = 4_999;
      expect((await policies.load('k1'))?.project?.access).toBeUndefined();
      now = 5_000;
      expect((await policies.load('k1'))?.project?.access).toEqual({ models: ['gpt-5*'] });
    } finally {
      await store.close();
    }
  });
});
