import { ConfigError } from '../../config/config-error';
import * as z from '../../config/zod';

/**
 * The `tracing` section of the gateway config: where spans go (for the whole deployment, and
 * per project), and what they may carry. A header value that is a secret (a Logfire write token)
 * is best named by environment variable (read once, at start) or, on AWS, by Secrets Manager
 * secret (read through the credential cache, so a rotation lands without a redeploy).
 *
 * @example
 * "tracing": {
 *   "export": { "endpoint": "https://logfire-us.pydantic.dev", "headers": { "Authorization": { "env": "LOGFIRE_TOKEN" } } },
 *   "projects": { "acme": { "export": { "endpoint": "http://127.0.0.1:4318" }, "bodies": { "maxBytes": 8192 } } }
 * }
 */
export interface TracingSettings {
  /** `service.name` on every span's resource. @default 'tollgate' */
  readonly serviceName: string;
  /** Every span goes here. Undefined: only to projects' own destinations (or the `OTEL_EXPORTER_OTLP_*` environment). */
  readonly export: ExportSettings | undefined;
  /** Per project: its own destination (which gets that project's spans too), and whether its spans carry message bodies. */
  readonly projects: Readonly<Record<string, ProjectTracing>>;
  /** A caller's `traceparent` that says "not sampled" is obeyed (W3C's parent-based sampling). @default true */
  readonly respectParentSampling: boolean;
  readonly queue: QueueSettings;
  /** In Lambda, the longest an invocation waits, after its response ended, for its spans to be sent. @default 2000 */
  readonly flushTimeoutMs: number;
}

export interface ExportSettings {
  /** The OTLP/HTTP base URL; `/v1/traces` is added unless the path already ends with it. */
  readonly endpoint: URL;
  /** @default 'http/protobuf' */
  readonly protocol: OtlpProtocol;
  readonly headers: readonly HeaderSetting[];
  /** One export request, connection included. @default 10000 */
  readonly timeoutMs: number;
}

export type OtlpProtocol = 'http/protobuf' | 'http/json';

export interface HeaderSetting {
  readonly name: string;
  readonly value: HeaderValue;
}

/** A header's value as configured: the text itself, an environment variable's name, or where a secret holds it (AWS only). */
export type HeaderValue =
  | { readonly kind: 'literal'; readonly value: string }
  | { readonly kind: 'env'; readonly name: string }
  | { readonly kind: 'secret'; readonly secretId: string; readonly field?: string };

export interface ProjectTracing {
  readonly export: ExportSettings | undefined;
  /** Request and response bodies on the project's spans, each cut at `maxBytes`. Off unless set. */
  readonly bodies: { readonly maxBytes: number } | undefined;
}

/** Per destination. */
export interface QueueSettings {
  /** Spans held waiting for export; past it new spans are dropped and counted. @default 2048 */
  readonly maxSpans: number;
  /** @default 512 */
  readonly batchSize: number;
  /** How long a span may wait for a batch to fill. @default 1000 */
  readonly delayMs: number;
  /** Tries per batch on a retryable failure (a network error, 429, 502, 503, 504), with backoff. @default 5 */
  readonly maxAttempts: number;
}

export const DEFAULT_QUEUE_SETTINGS: QueueSettings = { maxSpans: 2048, batchSize: 512, delayMs: 1000, maxAttempts: 5 };

const positiveInt = () => z.optional(z.number().check(z.int(), z.positive()));

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

const exportSchema = z.strictObject({
  endpoint: z.string().check(z.refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), 'must be an http(s) URL')),
  protocol: z.optional(z.enum(['http/protobuf', 'http/json'])),
  headers: z.optional(
    z.record(
      z.string().check(z.regex(HEADER_NAME, 'must be an HTTP header name')),
      z.union(
        [
          z.string(),
          z.strictObject({ env: z.string().check(z.minLength(1)) }),
          z.strictObject({ secret: z.string().check(z.minLength(1)), field: z.optional(z.string().check(z.minLength(1))) }),
        ],
        { error: 'must be a string, {"env": "NAME"}, or {"secret": "<id>", "field": "<name>"} (field optional)' },
      ),
    ),
  ),
  timeoutMs: positiveInt(),
});

export const tracingSchema = z.strictObject({
  serviceName: z.optional(z.string().check(z.minLength(1))),
  export: z.optional(exportSchema),
  projects: z.optional(
    z.record(
      z.string().check(z.minLength(1)),
      z.strictObject({ export: z.optional(exportSchema), bodies: z.optional(z.strictObject({ maxBytes: z.number().check(z.int(), z.positive()) })) }),
    ),
  ),
  respectParentSampling: z.optional(z.boolean()),
  queue: z.optional(z.strictObject({ maxSpans: positiveInt(), batchSize: positiveInt(), delayMs: positiveInt(), maxAttempts: positiveInt() })),
  flushTimeoutMs: positiveInt(),
});

export type TracingFile = z.infer<typeof tracingSchema>;

/** The section as validated, with its defaults. Undefined when the config has none. */
export function resolveTracing(file: TracingFile | undefined): TracingSettings | undefined {
  if (file === undefined) return undefined;
  const projects: Record<string, ProjectTracing> = {};
  for (const [name, project] of Object.entries(file.projects ?? {})) {
    projects[name] = { export: project.export && resolveExport(project.export), bodies: project.bodies };
  }
  return {
    serviceName: file.serviceName ?? 'tollgate',
    export: file.export && resolveExport(file.export),
    projects,
    respectParentSampling: file.respectParentSampling ?? true,
    queue: { ...DEFAULT_QUEUE_SETTINGS, ...file.queue },
    flushTimeoutMs: file.flushTimeoutMs ?? 2000,
  };
}

function resolveExport(file: z.infer<typeof exportSchema>): ExportSettings {
  return {
    endpoint: tracesUrl(file.endpoint),
    protocol: file.protocol ?? 'http/protobuf',
    headers: Object.entries(file.headers ?? {}).map(([name, value]): HeaderSetting => ({ name, value: headerValue(value) })),
    timeoutMs: file.timeoutMs ?? 10_000,
  };
}

function headerValue(value: NonNullable<z.infer<typeof exportSchema>['headers']>[string]): HeaderValue {
  if (typeof value === 'string') return { kind: 'literal', value };
  if ('env' in value) return { kind: 'env', name: value.env };
  return { kind: 'secret', secretId: value.secret, ...(value.field !== undefined && { field: value.field }) };
}

/** A base URL gets the signal path, as `OTEL_EXPORTER_OTLP_ENDPOINT` does; a URL that already names it is kept. */
export function tracesUrl(endpoint: string): URL {
  const url = new URL(endpoint);
  if (!url.pathname.endsWith('/v1/traces')) url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/traces`;
  return url;
}

/**
 * With no `tracing` section, the standard OpenTelemetry environment variables set a deployment-wide
 * destination: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (as is) or `OTEL_EXPORTER_OTLP_ENDPOINT` (plus
 * `/v1/traces`), `OTEL_EXPORTER_OTLP_HEADERS` (`k=v,k2=v2`, values URL-encoded),
 * `OTEL_EXPORTER_OTLP_PROTOCOL`, `OTEL_SERVICE_NAME`. `OTEL_SDK_DISABLED=true` turns tracing off
 * whatever the config says.
 */
export function tracingFromEnv(configured: TracingSettings | undefined, env: Readonly<Record<string, string | undefined>>): TracingSettings | undefined {
  if (env['OTEL_SDK_DISABLED']?.trim().toLowerCase() === 'true') return undefined;
  if (configured?.export) return configured;
  const signal = env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'];
  const base = env['OTEL_EXPORTER_OTLP_ENDPOINT'];
  if (!signal && !base) return configured;
  const where = signal ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT';
  const raw = (signal || base)!;
  if (!URL.canParse(raw) || !/^https?:$/.test(new URL(raw).protocol)) throw new ConfigError(`${where}: must be an http(s) URL`);
  const protocolText = env['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'] ?? env['OTEL_EXPORTER_OTLP_PROTOCOL'];
  if (protocolText !== undefined && protocolText !== 'http/protobuf' && protocolText !== 'http/json') {
    throw new ConfigError(`OTEL_EXPORTER_OTLP_PROTOCOL: tollgate sends "http/protobuf" or "http/json", not "${protocolText}"`);
  }
  const headers = parseEnvHeaders(env['OTEL_EXPORTER_OTLP_TRACES_HEADERS'] ?? env['OTEL_EXPORTER_OTLP_HEADERS']);
  const exported: ExportSettings = {
    endpoint: signal ? new URL(raw) : tracesUrl(raw),
    protocol: protocolText ?? 'http/protobuf',
    headers,
    timeoutMs: 10_000,
  };
  const settings = configured ?? resolveTracing({})!;
  return { ...settings, serviceName: configured?.serviceName ?? env['OTEL_SERVICE_NAME'] ?? settings.serviceName, export: exported };
}

function parseEnvHeaders(text: string | undefined): HeaderSetting[] {
  if (!text) return [];
  const headers: HeaderSetting[] = [];
  for (const pair of text.split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    const name = pair.slice(0, at).trim();
    // The value is never quoted in an error: it is usually a token.
    if (!HEADER_NAME.test(name)) throw new ConfigError('OTEL_EXPORTER_OTLP_HEADERS: a header name is not a valid HTTP token');
    let value: string;
    try {
      value = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      throw new ConfigError(`OTEL_EXPORTER_OTLP_HEADERS: the value of ${name} is not URL-encoded correctly`);
    }
    headers.push({ name, value: { kind: 'literal', value } });
  }
  return headers;
}
