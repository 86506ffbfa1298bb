import {
  DeleteItemCommand,
  type DeleteItemCommandInput,
  type DeleteItemCommandOutput,
  type DynamoDBClient,
  UpdateItemCommand,
  type UpdateItemCommandInput,
  type UpdateItemCommandOutput,
} from '@aws-sdk/client-dynamodb';

/**
 * Until when (epoch ms) a write sent once is resent, with backoff, after DynamoDB throttles it;
 * undefined: not at all (the store's own few quick resends apply). One deadline is shared by the
 * calls of a settlement, so that it ends within {@link THROTTLE_BUDGET_MS} or so however many are
 * throttled.
 */
export type ThrottlesUntil = number | undefined;

/**
 * Sends a write that must not apply twice, whose error the caller reads itself: after a 5xx, a
 * timeout or a dropped connection the write may have been applied, so it is never resent; the
 * SDK's own retries (4 attempts by default for DynamoDB, after any of those) are off for this call
 * alone, and every other call on the same client keeps them. A throttle (a 400: DynamoDB refused
 * it, so it surely was not applied) is resent with the SDK's kind of backoff until `throttlesUntil`.
 *
 * The SDK's retry middleware is replaced, for this command, by ours: a command's middleware of the
 * same name, step and priority overrides the client's (`override: true`, as the SDK's own plugins
 * do). So it works on any client it is given, traced or not (X-Ray's middleware sits in the build
 * step, above), and needs no second client. `test/store/dynamodb-faults.test.ts` fails should an
 * SDK update rename or move that middleware.
 *
 * @example
 * ```ts
 * await updateOnce(client, { TableName, Key, UpdateExpression: 'ADD committed :back', ExpressionAttributeValues: { ':back': { N: '-1000' } } }, Date.now() + THROTTLE_BUDGET_MS);
 * ```
 */
export function updateOnce(client: DynamoDBClient, input: UpdateItemCommandInput, throttlesUntil?: ThrottlesUntil): Promise<UpdateItemCommandOutput> {
  const command = new UpdateItemCommand(input);
  command.middlewareStack.add(throttleRetries(throttlesUntil), RETRY_MIDDLEWARE);
  // Options, even empty, keep a client built with `cacheMiddleware` from reusing the handler it
  // cached for the command's class, which would ignore this command's own middleware.
  return client.send(command, {});
}

/** {@link updateOnce}, for a delete. */
export function deleteOnce(client: DynamoDBClient, input: DeleteItemCommandInput, throttlesUntil?: ThrottlesUntil): Promise<DeleteItemCommandOutput> {
  const command = new DeleteItemCommand(input);
  command.middlewareStack.add(throttleRetries(throttlesUntil), RETRY_MIDDLEWARE);
  return client.send(command, {});
}

/** Where and under which name the SDK adds its retry middleware (`@smithy/core`'s `retryMiddlewareOptions`). */
const RETRY_MIDDLEWARE = { name: 'retryMiddleware', step: 'finalizeRequest', priority: 'high', override: true } as const;

/**
 * How long a settlement's throttled writes are resent, in all: more than the SDK's 4 attempts would
 * wait for throttles, and well within what the proxy (30 s) and the reconciler (10 s) keep of their
 * timeout to settle.
 */
export const THROTTLE_BUDGET_MS = 5_000;
const THROTTLE_BASE_DELAY_MS = 50;
const THROTTLE_MAX_DELAY_MS = 1_000;

/**
 * Resends the request (as the SDK's middleware does, with the same `args`: the signer below signs
 * each attempt) after a throttle only, with exponential backoff and jitter, until `until`.
 */
function throttleRetries(until: ThrottlesUntil) {
  return <Args, Result>(next: (args: Args) => Promise<Result>) =>
    async (args: Args): Promise<Result> => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await next(args);
        } catch (error) {
          const cap = Math.min(THROTTLE_MAX_DELAY_MS, THROTTLE_BASE_DELAY_MS * 2 ** attempt);
          const delay = cap / 2 + Math.random() * (cap / 2);
          if (until === undefined || !isThrottle(error) || Date.now() + delay > until) throw error;
          await new Promise((resolve) => setTimeout(resolve, delay));
        }
      }
    };
}

/** DynamoDB's throttling errors (the names `@smithy/service-error-classification` lists as throttles), answered with a 4xx. */
function isThrottle(error: unknown): boolean {
  const e = error as { name?: unknown; $metadata?: { httpStatusCode?: number }; $retryable?: { throttling?: boolean } } | undefined;
  const status = e?.$metadata?.httpStatusCode;
  if (status === undefined || status < 400 || status >= 500) return false;
  return e?.$retryable?.throttling === true || (typeof e?.name === 'string' && THROTTLES.has(e.name));
}

const THROTTLES = new Set(['ProvisionedThroughputExceededException', 'RequestLimitExceeded', 'ThrottlingException', 'Throttling', 'TransactionInProgressException', 'TooManyRequestsException']);
