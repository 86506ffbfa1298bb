import type { Dispatcher } from 'undici';
import type { SecretReader } from '../../config/secrets';
import type { Logger } from '../../core/log';
import { Agent } from '../../core/undici-agent';
import { exportHeaders } from './export-headers';
import { otlpHttpSender, type SendSpans } from './otlp-http';
import type { ExportSettings, TracingSettings } from './settings';
import { SpanQueue, type QueueStats } from './span-queue';
import type { Attributes, SpanData, SpanSource } from './span';
import { NOOP_TRACER, recordingTracer, type SpanSink, type Tracer } from './tracer';

/** The tracer and what its owner does with it: flush at the end of a Lambda invocation, close on shutdown. */
export interface Tracing {
  readonly tracer: Tracer;
  /** Sends what is queued; resolves once sent or after `timeoutMs` (what is left stays queued). */
  flush(timeoutMs: number): Promise<void>;
  /** Flushes, then closes the exporters' connections. */
  close(timeoutMs: number): Promise<void>;
  /** Per destination (named by its origin and, for a project's, the project). */
  stats(): Record<string, QueueStats>;
}

export interface TracingDeps {
  /** For header values named by environment variable, and the resource's cloud attributes. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Reads `{ "secret": … }` header values per batch, through its cache (the AWS deployment's
   * Secrets Manager reader). Without one such a header stops startup.
   */
  readonly secrets?: SecretReader;
  readonly logger: Logger;
  /** @default one keep-alive agent for all destinations, apart from the upstream pool */
  readonly dispatcher?: Dispatcher;
  /** Lambda: spans go out only when flushed, inside an invocation (see `SpanQueueOptions.onlyWhenFlushed`). */
  readonly onlyWhenFlushed?: boolean;
  /** @default HTTP export; tests may replace the sending. */
  readonly send?: (destination: ExportSettings, source: SpanSource) => SendSpans;
}

export const TRACING_OFF: Tracing = {
  tracer: NOOP_TRACER,
  flush: async () => {},
  close: async () => {},
  stats: () => ({}),
};

/** The scope every span is reported under. */
const SCOPE = { name: 'tollgate', version: '0.1.0' } as const;

/**
 * Builds the destinations the settings name — one bounded queue each — and a tracer that sends
 * every span to the deployment's destination and a project's spans to the project's own as
 * well. Header values named by environment variable are read here (a missing one stops startup);
 * those held in a secret are read before each batch is sent, off the request path.
 *
 * @example
 * const tracing = createTracing(config.tracing, { env: process.env, logger });
 * const gateway = createGateway({ ...deps, tracer: tracing.tracer });
 * // Lambda, after the response has ended:
 * await tracing.flush(config.tracing.flushTimeoutMs);
 */
export function createTracing(settings: TracingSettings | undefined, deps: TracingDeps): Tracing {
  if (!settings) return TRACING_OFF;
  const hasProjectDestination = Object.values(settings.projects).some((project) => project.export !== undefined);
  if (!settings.export && !hasProjectDestination) return TRACING_OFF;

  const source: SpanSource = { resource: resourceAttributes(settings, deps.env), scopeName: SCOPE.name, scopeVersion: SCOPE.version };
  // Small: one export at a time per destination. Apart from the upstream pool, so a slow receiver never holds a provider connection.
  const dispatcher = deps.dispatcher ?? new Agent({ keepAliveTimeout: 10_000, connections: 4 });
  const queues = new Map<string, SpanQueue>();
  const queueFor = (destination: ExportSettings, where: string, label: string): SpanQueue => {
    const headers = exportHeaders(destination.headers, { env: deps.env, secrets: deps.secrets }, where);
    const send =
      deps.send?.(destination, source) ??
      otlpHttpSender({ url: destination.endpoint, protocol: destination.protocol, headers, timeoutMs: destination.timeoutMs }, source, dispatcher);
    const queue = new SpanQueue(send, { ...settings.queue, label, logger: deps.logger, onlyWhenFlushed: deps.onlyWhenFlushed });
    queues.set(label, queue);
    return queue;
  };

  const shared = settings.export && queueFor(settings.export, 'tracing.export', destinationLabel(settings.export));
  const byProject = new Map<string, SpanQueue>();
  const bodyLimits = new Map<string, number>();
  for (const [name, project] of Object.entries(settings.projects)) {
    if (project.export) byProject.set(name, queueFor(project.export, `tracing.projects.${name}.export`, `${destinationLabel(project.export)} (project ${name})`));
    if (project.bodies) bodyLimits.set(name, project.bodies.maxBytes);
  }

  const sink: SpanSink = {
    accepts: (project) => shared !== undefined || (project !== undefined && byProject.has(project)),
    export(spans: readonly SpanData[], project) {
      const own = project === undefined ? undefined : byProject.get(project);
      for (const span of spans) {
        shared?.push(span);
        own?.push(span);
      }
    },
    bodyLimit: (project) => (project === undefined ? undefined : bodyLimits.get(project)),
  };

  deps.logger.info('tracing_enabled', { destinations: [...queues.keys()].join(', '), protocol: settings.export?.protocol });
  const all = (): SpanQueue[] => [...queues.values()];
  return {
    tracer: recordingTracer(sink, { respectParentSampling: settings.respectParentSampling }),
    async flush(timeoutMs) {
      await Promise.all(all().map((queue) => queue.flush(timeoutMs)));
    },
    async close(timeoutMs) {
      await Promise.all(all().map((queue) => queue.close(timeoutMs)));
      if (!deps.dispatcher) await dispatcher.destroy().catch(() => undefined);
    },
    stats: () => Object.fromEntries([...queues].map(([label, queue]) => [label, queue.stats()])),
  };
}

/** The endpoint's origin and path: what a log line may name (a query could hold a token). */
function destinationLabel(destination: ExportSettings): string {
  return `${destination.endpoint.origin}${destination.endpoint.pathname}`;
}

/** `service.name`, the SDK's identity, and where it runs when that is AWS Lambda. */
function resourceAttributes(settings: TracingSettings, env: Readonly<Record<string, string | undefined>>): Attributes {
  const lambda = env['AWS_LAMBDA_FUNCTION_NAME'];
  return {
    'service.name': settings.serviceName,
    'telemetry.sdk.name': 'tollgate',
    'telemetry.sdk.language': 'nodejs',
    'telemetry.sdk.version': SCOPE.version,
    'cloud.provider': lambda ? 'aws' : undefined,
    'cloud.platform': lambda ? 'aws_lambda' : undefined,
    'cloud.region': lambda ? env['AWS_REGION'] : undefined,
    'faas.name': lambda,
    'faas.version': lambda ? env['AWS_LAMBDA_FUNCTION_VERSION'] : undefined,
  };
}
