import { LOCATION, PROJECT } from './fake-google';

/**
 * One metered call per API format, streamed and not, as raw HTTP against the gateway, with what
 * the recordings the fakes replay say about themselves (read off the fixture files by hand).
 */
export interface FormatCall {
  readonly name: string;
  readonly streams: boolean;
  readonly path: string;
  readonly body: Record<string, unknown>;
  /** Headers the API requires besides the key. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly expect: {
    readonly route: string;
    readonly operation: string;
    readonly genAiOperation: string;
    readonly provider: string;
    readonly requestModel: string;
    readonly responseModel: string;
    readonly responseId: string | undefined;
    readonly finishReasons: readonly string[];
    readonly requestParams: Readonly<Record<string, number | readonly string[]>>;
    readonly usage: { readonly input: number; readonly output: number; readonly cacheRead?: number; readonly cacheWrite?: number };
  };
}

const CHAT = [{ role: 'user', content: 'Hi' }];
const NOVA_PROFILE = 'us.amazon.nova-pro-v1:0';
const SONNET = 'anthropic.claude-3-5-sonnet-20240620-v1:0';
const GEMINI_PATH = `/proxy/google-vertex/v1beta1/projects/${PROJECT}/locations/${LOCATION}/publishers/google/models/gemini-2.5-flash`;

export const FORMAT_CALLS: readonly FormatCall[] = [
  {
    name: 'openai chat',
    streams: false,
    path: '/proxy/openai/chat/completions',
    body: { model: 'gpt-4o', messages: CHAT, max_tokens: 100, temperature: 0.5, top_p: 0.9, stop: 'END' },
    expect: {
      route: 'openai',
      operation: 'chat',
      genAiOperation: 'chat',
      provider: 'openai',
      requestModel: 'gpt-4o',
      responseModel: 'gpt-4o-2024-08-06',
      responseId: 'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT',
      finishReasons: ['stop'],
      requestParams: { 'gen_ai.request.max_tokens': 100, 'gen_ai.request.temperature': 0.5, 'gen_ai.request.top_p': 0.9, 'gen_ai.request.stop_sequences': ['END'] },
      usage: { input: 2006, output: 10, cacheRead: 1920 },
    },
  },
  {
    name: 'openai chat',
    streams: true,
    path: '/proxy/openai/chat/completions',
    body: { model: 'gpt-4o', messages: CHAT, stream: true, max_completion_tokens: 50, temperature: 1 },
    expect: {
      route: 'openai',
      operation: 'chat',
      genAiOperation: 'chat',
      provider: 'openai',
      requestModel: 'gpt-4o',
      responseModel: 'gpt-4o-2024-08-06',
      responseId: 'chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG',
      finishReasons: ['stop'],
      requestParams: { 'gen_ai.request.max_tokens': 50, 'gen_ai.request.temperature': 1 },
      usage: { input: 1117, output: 9, cacheRead: 1024 },
    },
  },
  {
    name: 'anthropic messages',
    streams: false,
    path: '/proxy/anthropic/v1/messages',
    headers: { 'anthropic-version': '2023-06-01' },
    body: { model: 'claude-sonnet-4-20250514', max_tokens: 1024, temperature: 0.7, top_k: 5, messages: CHAT },
    expect: {
      route: 'anthropic',
      operation: 'messages',
      genAiOperation: 'chat',
      provider: 'anthropic',
      requestModel: 'claude-sonnet-4-20250514',
      responseModel: 'claude-sonnet-4-20250514',
      responseId: 'msg_01XFDUDYJgAACzvnptvVoYEL',
      finishReasons: ['end_turn'],
      requestParams: { 'gen_ai.request.max_tokens': 1024, 'gen_ai.request.temperature': 0.7, 'gen_ai.request.top_k': 5 },
      usage: { input: 21 + 2188 + 1024, output: 14, cacheRead: 1024, cacheWrite: 2188 },
    },
  },
  {
    name: 'anthropic messages',
    streams: true,
    path: '/proxy/anthropic/v1/messages',
    headers: { 'anthropic-version': '2023-06-01' },
    body: { model: 'claude-sonnet-4-20250514', max_tokens: 2048, stream: true, stop_sequences: ['\n\nHuman:'], messages: CHAT },
    expect: {
      route: 'anthropic',
      operation: 'messages',
      genAiOperation: 'chat',
      provider: 'anthropic',
      requestModel: 'claude-sonnet-4-20250514',
      responseModel: 'claude-sonnet-4-20250514',
      responseId: 'msg_01LhX4ANVaXnZvLqDZ4bUHsq',
      finishReasons: ['end_turn'],
      requestParams: { 'gen_ai.request.max_tokens': 2048, 'gen_ai.request.stop_sequences': ['\n\nHuman:'] },
      usage: { input: 472 + 1200 + 3150, output: 37, cacheRead: 3150, cacheWrite: 1200 },
    },
  },
  {
    name: 'groq chat',
    streams: false,
    path: '/proxy/groq/openai/v1/chat/completions',
    body: { model: 'llama-3.3-70b-versatile', messages: CHAT, max_tokens: 64, temperature: 0.25, n: 1 },
    expect: {
      route: 'groq',
      operation: 'chat',
      genAiOperation: 'chat',
      provider: 'groq',
      requestModel: 'llama-3.3-70b-versatile',
      responseModel: 'llama-3.3-70b-versatile',
      responseId: 'chatcmpl-f51b2cd2-bef7-417e-964e-a08f0b513c22',
      finishReasons: ['stop'],
      requestParams: { 'gen_ai.request.max_tokens': 64, 'gen_ai.request.temperature': 0.25, 'gen_ai.request.choice.count': 1 },
      usage: { input: 48, output: 17 },
    },
  },
  {
    name: 'groq chat',
    streams: true,
    path: '/proxy/groq/openai/v1/chat/completions',
    body: { model: 'llama-3.3-70b-versatile', messages: CHAT, stream: true, seed: 7 },
    expect: {
      route: 'groq',
      operation: 'chat',
      genAiOperation: 'chat',
      provider: 'groq',
      requestModel: 'llama-3.3-70b-versatile',
      responseModel: 'llama-3.3-70b-versatile',
      responseId: 'chatcmpl-bc4c2b5f-ad1c-4152-831f-a0885de968a3',
      finishReasons: ['stop'],
      requestParams: { 'gen_ai.request.seed': 7 },
      usage: { input: 38, output: 9 },
    },
  },
  {
    name: 'gemini on vertex generateContent',
    streams: false,
    path: `${GEMINI_PATH}:generateContent`,
    body: { contents: [{ role: 'user', parts: [{ text: 'Hi' }] }], generationConfig: { maxOutputTokens: 256, temperature: 0.5, topP: 0.95 } },
    expect: {
      route: 'google-vertex',
      operation: 'generateContent',
      genAiOperation: 'generate_content',
      provider: 'gcp.vertex_ai',
      requestModel: 'gemini-2.5-flash',
      responseModel: 'gemini-2.5-flash',
      responseId: 'AbN0aP3pHY2s2PgPw7LY0QY',
      finishReasons: ['STOP'],
      requestParams: { 'gen_ai.request.max_tokens': 256, 'gen_ai.request.temperature': 0.5, 'gen_ai.request.top_p': 0.95 },
      usage: { input: 2113, output: 14 + 59, cacheRead: 1536 },
    },
  },
  {
    name: 'gemini on vertex streamGenerateContent',
    streams: true,
    path: `${GEMINI_PATH}:streamGenerateContent?alt=sse`,
    body: { contents: [{ role: 'user', parts: [{ text: 'Hi' }] }], generationConfig: { candidateCount: 1, topK: 40 } },
    expect: {
      route: 'google-vertex',
      operation: 'streamGenerateContent',
      genAiOperation: 'generate_content',
      provider: 'gcp.vertex_ai',
      requestModel: 'gemini-2.5-flash',
      responseModel: 'gemini-2.5-flash',
      responseId: 'ArN0aJ7fB4Ko2PgP1qXQ8Ak',
      finishReasons: ['STOP'],
      requestParams: { 'gen_ai.request.choice.count': 1, 'gen_ai.request.top_k': 40 },
      usage: { input: 1410, output: 19 + 87, cacheRead: 1024 },
    },
  },
  {
    name: 'bedrock converse',
    streams: false,
    path: `/proxy/bedrock/model/${encodeURIComponent(NOVA_PROFILE)}/converse`,
    body: { messages: [{ role: 'user', content: [{ text: 'Hi' }] }], inferenceConfig: { maxTokens: 256, temperature: 0.5, topP: 0.9 } },
    expect: {
      route: 'bedrock',
      operation: 'converse',
      genAiOperation: 'chat',
      provider: 'aws.bedrock',
      requestModel: NOVA_PROFILE,
      responseModel: NOVA_PROFILE,
      responseId: undefined,
      finishReasons: ['end_turn'],
      requestParams: { 'gen_ai.request.max_tokens': 256, 'gen_ai.request.temperature': 0.5, 'gen_ai.request.top_p': 0.9 },
      usage: { input: 12 + 1024 + 1024, output: 10, cacheRead: 1024, cacheWrite: 1024 },
    },
  },
  {
    name: 'bedrock converse-stream',
    streams: true,
    path: `/proxy/bedrock/model/${encodeURIComponent(SONNET)}/converse-stream`,
    body: { messages: [{ role: 'user', content: [{ text: 'Hi' }] }], inferenceConfig: { stopSequences: ['STOP'] } },
    expect: {
      route: 'bedrock',
      operation: 'converse-stream',
      genAiOperation: 'chat',
      provider: 'aws.bedrock',
      requestModel: SONNET,
      responseModel: SONNET,
      responseId: undefined,
      finishReasons: ['end_turn'],
      requestParams: { 'gen_ai.request.stop_sequences': ['STOP'] },
      usage: { input: 21 + 2048 + 512, output: 9, cacheRead: 2048, cacheWrite: 512 },
    },
  },
];

export interface CallResult {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
}

/** Sends the call with the gateway key as a bearer token (every format accepts it) and reads the whole response. */
export async function sendCall(baseUrl: string, call: FormatCall, key: string, headers: Record<string, string> = {}): Promise<CallResult> {
  const response = await fetch(`${baseUrl}${call.path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...call.headers, ...headers },
    body: JSON.stringify(call.body),
  });
  return { status: response.status, headers: response.headers, body: Buffer.from(await response.arrayBuffer()) };
}
