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
 * Sends a write once: the SDK's own retries (for a 5xx, a throttle, a timeout or a dropped
 * connection; 4 attempts by default for DynamoDB) are off for this call alone, and every other
 * call on the same client keeps them. For a write that must not apply twice, whose error the
 * caller reads itself: after a 5xx or a lost answer the write may have been applied, and the SDK
 * would send it again regardless.
 *
 * The SDK's retry middleware is replaced, for this command, by one that only passes the request
 * on: a command's middleware of the same name, step and priority overrides the client's
 * (`override: true`, as the SDK's own plugins do). So it works on any client it is given, traced
 * or not (X-Ray's middleware sits in the build step, above), and needs no second client.
 * `test/store/dynamodb-faults.test.ts` fails should an SDK update rename or move that middleware.
 *
 * @example
 * ```ts
 * await updateOnce(client, { TableName, Key, UpdateExpression: 'ADD committed :back', ExpressionAttributeValues: { ':back': { N: '-1000' } } });
 * ```
 */
export function updateOnce(client: DynamoDBClient, input: UpdateItemCommandInput): Promise<UpdateItemCommandOutput> {
  const command = new UpdateItemCommand(input);
  command.middlewareStack.add((next) => next, RETRIES_OFF);
  // Options, even empty, keep a client built with `cacheMiddleware` from reusing the handler it
  // cached for the command's class, which would ignore this command's own middleware.
  return client.send(command, {});
}

/** {@link updateOnce}, for a delete. */
export function deleteOnce(client: DynamoDBClient, input: DeleteItemCommandInput): Promise<DeleteItemCommandOutput> {
  const command = new DeleteItemCommand(input);
  command.middlewareStack.add((next) => next, RETRIES_OFF);
  return client.send(command, {});
}

/** Where and under which name the SDK adds its retry middleware (`@smithy/core`'s `retryMiddlewareOptions`). */
const RETRIES_OFF = { name: 'retryMiddleware', step: 'finalizeRequest', priority: 'high', override: true } as const;

