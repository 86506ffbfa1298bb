/**
 * Stand-in for the Lambda handler, which does not exist yet: the core gateway entry (as
 * lambda/app/local-gateway.ts wires it) plus the DynamoDB store adapter and client a Lambda
 * deployment must load. Only loaded, never run: the bench times `require` of its bundle.
 */
export { DynamoDBClient } from '@aws-sdk/client-dynamodb';
export { startLocalGateway } from '../../lambda/app/local-gateway';
export { openDynamoStore } from '../../lambda/store/dynamodb';
