import type { FormatId } from '../../formats/types';
import type { StreamMessage } from '../../metering/framing';
import type { ProviderId } from '../../providers/types';
import { Double, type Attributes } from './span';

/**
 * The OpenTelemetry GenAI semantic conventions (https://opentelemetry.io/docs/specs/semconv/gen-ai/)
 * as tollgate's five wire formats carry them: what a request asks for, and what its response
 * says about itself (id, model, finish reasons). Everything is read from JSON already parsed or
 * framed by the gateway; a field that is absent or of the wrong type is left out, never guessed.
 */

/** `gen_ai.provider.name` (and the older `gen_ai.system`) per provider kind, as the conventions spell them. */
export const GENAI_PROVIDER_NAMES = {
  openai: 'openai',
  anthropic: 'anthropic',
  groq: 'groq',
  'google-vertex': 'gcp.vertex_ai',
  'google-gla': 'gcp.gemini',
  bedrock: 'aws.bedrock',
  'azure-openai': 'azure.ai.openai',
  // No convention names a self-hosted server that speaks OpenAI's API; the account name says which.
  'openai-compatible': 'openai_compatible',
} as const satisfies Record<ProviderId, string>;

/** `gen_ai.operation.name` for each metered operation; an operation not listed is reported under its own name. */
const OPERATION_NAMES: Readonly<Record<string, string>> = {
  chat: 'chat',
  responses: 'chat',
  messages: 'chat',
  converse: 'chat',
  'converse-stream': 'chat',
  invoke: 'chat',
  'invoke-stream': 'chat',
  embeddings: 'embeddings',
  generateContent: 'generate_content',
  streamGenerateContent: 'generate_content',
};

export function genAiOperation(operation: string): string {
  return OPERATION_NAMES[operation] ?? operation;
}

/** A request parameter: the attribute it becomes, and where each operation of the format keeps it. */
/** `double` parameters are exported as doubles even when a request writes them as whole numbers (`"temperature": 1`), so a backend sees one type. */
type Param = readonly [attribute: string, path: readonly string[], kind: 'int' | 'double' | 'strings'];

const OPENAI_CHAT: readonly Param[] = [
  ['gen_ai.request.max_tokens', ['max_completion_tokens'], 'int'],
  ['gen_ai.request.max_tokens', ['max_tokens'], 'int'],
  ['gen_ai.request.temperature', ['temperature'], 'double'],
  ['gen_ai.request.top_p', ['top_p'], 'double'],
  ['gen_ai.request.choice.count', ['n'], 'int'],
  ['gen_ai.request.frequency_penalty', ['frequency_penalty'], 'double'],
  ['gen_ai.request.presence_penalty', ['presence_penalty'], 'double'],
  ['gen_ai.request.seed', ['seed'], 'int'],
  ['gen_ai.request.stop_sequences', ['stop'], 'strings'],
];

const OPENAI_RESPONSES: readonly Param[] = [
  ['gen_ai.request.max_tokens', ['max_output_tokens'], 'int'],
  ['gen_ai.request.temperature', ['temperature'], 'double'],
  ['gen_ai.request.top_p', ['top_p'], 'double'],
];

const OPENAI_EMBEDDINGS: readonly Param[] = [
  ['gen_ai.embeddings.dimension.count', ['dimensions'], 'int'],
  ['gen_ai.request.encoding_formats', ['encoding_format'], 'strings'],
];

const ANTHROPIC: readonly Param[] = [
  ['gen_ai.request.max_tokens', ['max_tokens'], 'int'],
  ['gen_ai.request.temperature', ['temperature'], 'double'],
  ['gen_ai.request.top_p', ['top_p'], 'double'],
  ['gen_ai.request.top_k', ['top_k'], 'int'],
  ['gen_ai.request.stop_sequences', ['stop_sequences'], 'strings'],
];

const GEMINI: readonly Param[] = [
  ['gen_ai.request.max_tokens', ['generationConfig', 'maxOutputTokens'], 'int'],
  ['gen_ai.request.temperature', ['generationConfig', 'temperature'], 'double'],
  ['gen_ai.request.top_p', ['generationConfig', 'topP'], 'double'],
  ['gen_ai.request.top_k', ['generationConfig', 'topK'], 'int'],
  ['gen_ai.request.choice.count', ['generationConfig', 'candidateCount'], 'int'],
  ['gen_ai.request.seed', ['generationConfig', 'seed'], 'int'],
  ['gen_ai.request.presence_penalty', ['generationConfig', 'presencePenalty'], 'double'],
  ['gen_ai.request.frequency_penalty', ['generationConfig', 'frequencyPenalty'], 'double'],
  ['gen_ai.request.stop_sequences', ['generationConfig', 'stopSequences'], 'strings'],
];

const BEDROCK_CONVERSE: readonly Param[] = [
  ['gen_ai.request.max_tokens', ['inferenceConfig', 'maxTokens'], 'int'],
  ['gen_ai.request.temperature', ['inferenceConfig', 'temperature'], 'double'],
  ['gen_ai.request.top_p', ['inferenceConfig', 'topP'], 'double'],
  ['gen_ai.request.stop_sequences', ['inferenceConfig', 'stopSequences'], 'strings'],
];

/** InvokeModel bodies are the model vendor's own: Anthropic's and Meta's field names, then Amazon Titan's. */
const BEDROCK_INVOKE: readonly Param[] = [
  ...ANTHROPIC,
  ['gen_ai.request.max_tokens', ['max_gen_len'], 'int'],
  ['gen_ai.request.max_tokens', ['textGenerationConfig', 'maxTokenCount'], 'int'],
  ['gen_ai.request.temperature', ['textGenerationConfig', 'temperature'], 'double'],
  ['gen_ai.request.top_p', ['textGenerationConfig', 'topP'], 'double'],
];

const REQUEST_PARAMS = {
  openai: (operation) => (operation === 'responses' ? OPENAI_RESPONSES : operation === 'embeddings' ? OPENAI_EMBEDDINGS : OPENAI_CHAT),
  groq: () => OPENAI_CHAT,
  anthropic: () => ANTHROPIC,
  gemini: () => GEMINI,
  bedrock: (operation) => (operation.startsWith('converse') ? BEDROCK_CONVERSE : BEDROCK_INVOKE),
} as const satisfies Record<FormatId, (operation: string) => readonly Param[]>;

/** The `gen_ai.request.*` parameters a request sets, in the attribute names of the conventions. */
export function requestAttributes(format: FormatId, operation: string, body: Record<string, unknown>, into: Attributes): void {
  for (const [attribute, path, kind] of REQUEST_PARAMS[format](operation)) {
    if (into[attribute] !== undefined) continue;
    const value = at(body, path);
    if (kind === 'int') {
      if (typeof value === 'number' && Number.isSafeInteger(value)) into[attribute] = value;
    } else if (kind === 'double') {
      if (typeof value === 'number' && Number.isFinite(value)) into[attribute] = new Double(value);
    } else if (typeof value === 'string') {
      into[attribute] = [value];
    } else if (Array.isArray(value) && value.every((item) => typeof item === 'string')) {
      into[attribute] = value as string[];
    }
  }
}

/** What a response says about itself, beyond its usage. */
export interface ResponseFacts {
  id?: string;
  model?: string;
  finishReasons: string[];
}

/** Reads {@link ResponseFacts} from a whole response document, or from a stream's messages as they pass. */
export interface ResponseFactsReader {
  document(doc: unknown): void;
  /** `parsed`: the message's data as the usage reader parsed it, if it did (see `StreamUsageReader.onMessage`); else it is parsed here, if it is worth it. */
  message(message: StreamMessage, parsed?: unknown): void;
  readonly facts: ResponseFacts;
}

/** Fields of one document (or one stream event) that carry the facts. */
interface FactFields {
  readonly id?: unknown;
  readonly model?: unknown;
  readonly reasons?: unknown;
}

type DocumentReading = (doc: Record<string, unknown>) => FactFields;

const openAiChat: DocumentReading = (doc) => ({ id: doc['id'], model: doc['model'], reasons: pluck(doc['choices'], 'finish_reason') });
/** A Responses API response: its `status`, or why it is incomplete. */
const openAiResponse: DocumentReading = (doc) => ({
  id: doc['id'],
  model: doc['model'],
  reasons: [field(doc['incomplete_details'], 'reason') ?? doc['status']],
});
const anthropicMessage: DocumentReading = (doc) => ({ id: doc['id'], model: doc['model'], reasons: [doc['stop_reason']] });
const geminiResponse: DocumentReading = (doc) => ({ id: doc['responseId'], model: doc['modelVersion'], reasons: pluck(doc['candidates'], 'finishReason') });
const bedrockConverse: DocumentReading = (doc) => ({ reasons: [doc['stopReason']] });
/** InvokeModel: the vendor's own body (Anthropic's, or `stop_reason` / `completionReason` elsewhere). */
const bedrockInvoke: DocumentReading = (doc) => ({
  id: doc['id'],
  model: doc['model'],
  reasons: [doc['stop_reason'] ?? doc['stopReason'] ?? field(first(doc['results']), 'completionReason')],
});

/**
 * Per format: how a whole document reads, and which stream events are worth parsing (most are
 * content deltas: they are skipped by a substring test, not parsed).
 */
interface FormatFacts {
  readonly document: (operation: string) => DocumentReading;
  /**
   * The event's fields, or undefined to skip it; `started` once an earlier event gave some;
   * `parsed` the event's JSON if the usage reader parsed it already (see {@link eventObject}).
   */
  readonly event: (operation: string) => (message: StreamMessage, started: boolean, parsed: unknown) => FactFields | undefined;
}

const FINISH_REASON = /"finish_reason"\s*:\s*"/;

const openAiChatEvent = (message: StreamMessage, started: boolean, parsed: unknown): FactFields | undefined => {
  // Every chunk repeats the id and model: the first gives them, then only a finish reason is news.
  if (started && !FINISH_REASON.test(message.data)) return undefined;
  const chunk = eventObject(message, parsed);
  return chunk && openAiChat(chunk);
};

const FORMAT_FACTS = {
  openai: {
    document: (operation) => (operation === 'responses' ? openAiResponse : openAiChat),
    event: (operation) =>
      operation === 'responses'
        ? (message, _started, parsed) => {
            // The terminal event (`response.completed`, `.incomplete`, `.failed`) carries the whole response.
            if (!message.data.includes('"usage"')) return undefined;
            const response = eventObject(message, parsed)?.['response'];
            return isObject(response) ? openAiResponse(response) : undefined;
          }
        : openAiChatEvent,
  },
  groq: { document: () => openAiChat, event: () => openAiChatEvent },
  anthropic: {
    document: () => anthropicMessage,
    event: () => (message, _started, parsed) => {
      if (!message.data.includes('"message_start"') && !message.data.includes('"message_delta"')) return undefined;
      const event = eventObject(message, parsed);
      if (!event) return undefined;
      if (event['type'] === 'message_start' && isObject(event['message'])) return { id: event['message']['id'], model: event['message']['model'] };
      if (event['type'] === 'message_delta') return { reasons: [field(event['delta'], 'stop_reason')] };
      return undefined;
    },
  },
  gemini: {
    document: () => geminiResponse,
    event: () => (message, started, parsed) => {
      if (started && !message.data.includes('"finishReason"')) return undefined;
      const chunk = eventObject(message, parsed);
      return chunk && geminiResponse(chunk);
    },
  },
  bedrock: {
    document: (operation) => (operation.startsWith('converse') ? bedrockConverse : bedrockInvoke),
    event: (operation) =>
      operation === 'converse-stream'
        ? (message, _started, parsed) => {
            if (!message.data.includes('"stopReason"')) return undefined;
            const event = eventObject(message, parsed);
            return event && bedrockConverse(event);
          }
        : (message, _started, parsed) => {
            // InvokeModel streams wrap each vendor event, base64-encoded, in `{"bytes": …}`.
            const bytes = eventObject(message, parsed)?.['bytes'];
            if (typeof bytes !== 'string') return undefined;
            const inner = parseObject(Buffer.from(bytes, 'base64').toString('utf8'));
            if (!inner) return undefined;
            if (inner['type'] === 'message_start' && isObject(inner['message'])) return { id: inner['message']['id'], model: inner['message']['model'] };
            if (inner['type'] === 'message_delta') return { reasons: [field(inner['delta'], 'stop_reason')] };
            return undefined;
          },
  },
} as const satisfies Record<FormatId, FormatFacts>;

export function responseFactsReader(format: FormatId, operation: string): ResponseFactsReader {
  const facts: ResponseFacts = { finishReasons: [] };
  const take = (fields: FactFields): void => {
    if (typeof fields.id === 'string' && facts.id === undefined) facts.id = fields.id;
    if (typeof fields.model === 'string' && facts.model === undefined) facts.model = fields.model;
    if (Array.isArray(fields.reasons)) {
      for (const reason of fields.reasons) if (typeof reason === 'string' && reason.length > 0) facts.finishReasons.push(reason);
    }
  };
  const spec: FormatFacts = FORMAT_FACTS[format];
  const readDocument = spec.document(operation);
  const readEvent = spec.event(operation);
  let started = false;
  return {
    facts,
    document(doc) {
      if (isObject(doc)) take(readDocument(doc));
    },
    message(message, parsed) {
      const fields = readEvent(message, started, parsed);
      if (!fields) return;
      started = true;
      take(fields);
    },
  };
}

function at(body: Record<string, unknown>, path: readonly string[]): unknown {
  let value: unknown = body;
  for (const key of path) {
    if (!isObject(value)) return undefined;
    value = value[key];
  }
  return value;
}

function pluck(list: unknown, key: string): unknown[] {
  return Array.isArray(list) ? list.map((item) => field(item, key)) : [];
}

function field(value: unknown, key: string): unknown {
  return isObject(value) ? value[key] : undefined;
}

function first(list: unknown): unknown {
  return Array.isArray(list) ? list[0] : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A stream event's JSON object: as the usage reader parsed it, when it did, else parsed here. */
function eventObject(message: StreamMessage, parsed: unknown): Record<string, unknown> | undefined {
  if (parsed === undefined) return parseObject(message.data);
  return isObject(parsed) ? parsed : undefined;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
