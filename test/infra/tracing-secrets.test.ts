import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { LAMBDA_ENV } from '../../lambda/handlers/env';
import { TollgateStack, type TollgateStackProps } from '../../lib/tollgate-stack';
import { APP_CONTEXT } from './support/entry-point';


function synth(props?: TollgateStackProps) {
  const stack = new TollgateStack(new App({ context: APP_CONTEXT }), 'Test', { env: { account: '123456789012', region: 'eu-west-1' }, ...props });
  return { stack, template: Template.fromStack(stack) };
}

type Json = Record<string, unknown>;
interface Statement {
  Action: string | string[];
  Resource: unknown;
  Condition?: Json;
}

/** The statements of the proxy function's role. */
function proxyStatements(template: Template): Statement[] {
  const [, fn] = Object.entries(template.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith('ProxyFunction'))!;
  const role = ((fn['Properties'] as Json)['Role'] as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) => ((policy['Properties'] as Json)['Roles'] as Array<{ Ref: string }>).some((ref) => ref.Ref === role))
    .flatMap((policy) => ((policy['Properties'] as Json)['PolicyDocument'] as { Statement: Statement[] }).Statement);
}

/** An IAM resource as it reads in the account (`aws` partition), `*` a wildcard; a reference to a resource of the stack (the provider secret) matches no name. */
function resourcePattern(resource: unknown): RegExp {
  const join = (resource as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (typeof resource !== 'string' && !join) return /(?!)/;
  const text = typeof resource === 'string' ? resource : join![1].map((part) => (typeof part === 'string' ? part : 'aws')).join('');
  return new RegExp(`^${text.split('*').map((piece) => piece.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`);
}

const LOGFIRE = { endpoint: 'https://logfire-us.pydantic.dev' };
const warnings = (stack: Stack) => Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('tracing'));

describe('TollgateStack: tracing headers held in Secrets Manager', () => {
  test('a token under the stack\'s secret prefix is readable by the proxy through the grant provider secrets use, and the config holds only its name', () => {
    // GIVEN a Logfire token in tollgate/Test/logfire, and a project's by ARN under the same prefix
    const { stack, template } = synth({
      gatewayConfig: {
        tracing: {
          export: { ...LOGFIRE, headers: { Authorization: { secret: 'tollgate/Test/logfire' } } },
          projects: { acme: { export: { ...LOGFIRE, headers: { Authorization: { secret: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:tollgate/Test/acme-AbCdEf', field: 'token' } } } } },
        },
      },
    });

    // WHEN
    const statements = proxyStatements(template);

    // THEN the function's config names the secrets
    const variables = Object.values(template.findResources('AWS::Lambda::Function')).map((fn) => ((fn['Properties'] as Json)['Environment'] as { Variables: Json } | undefined)?.Variables ?? {});
    const config = JSON.stringify(variables.map((vars) => stack.resolve(vars[LAMBDA_ENV.config])));
    expect(config).toContain('{\\"secret\\":\\"tollgate/Test/logfire\\"}');
    // AND the role may read both secrets (each secret's ARN ends in 6 random characters), and nothing else new
    const reads = statements.filter((statement) => statement.Action === 'secretsmanager:GetSecretValue').flatMap((statement) => [statement.Resource].flat());
    const readable = (arn: string) => reads.some((resource) => resourcePattern(resource).test(arn));
    expect(readable('arn:aws:secretsmanager:eu-west-1:123456789012:secret:tollgate/Test/logfire-Xy12Zq')).toBe(true);
    expect(readable('arn:aws:secretsmanager:eu-west-1:123456789012:secret:tollgate/Test/acme-AbCdEf')).toBe(true);
    expect(readable('arn:aws:secretsmanager:eu-west-1:123456789012:secret:elsewhere/logfire-Xy12Zq')).toBe(false);
    expect(statements).toEqual(proxyStatements(synth().template));
    // AND it may decrypt with the stack's key, through Secrets Manager only
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: 'kms:Decrypt', Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } }, Resource: { 'Fn::GetAtt': [stack.getLogicalId(stack.secretsKey.node.defaultChild as CfnElement), 'Arn'] } }),
    );
    // AND synth has nothing to warn about
    expect(warnings(stack)).toEqual([]);
  });

  test('a token outside the prefix, which the proxy could not read, is a synth warning naming the header and the secret', () => {
    // WHEN
    const { stack } = synth({
      gatewayConfig: {
        tracing: {
          export: { ...LOGFIRE, headers: { Authorization: { secret: 'tollgate/Test/logfire' } } },
          projects: { acme: { export: { ...LOGFIRE, headers: { 'X-Token': { secret: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/acme-AbCdEf' } } } } },
        },
      },
    });

    // THEN one warning, for the project's header only
    const found = warnings(stack);
    expect(found).toHaveLength(1);
    expect(String(found[0]!.entry.data)).toContain(
      'gatewayConfig tracing.projects.acme.export.headers.X-Token: secret arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/acme-AbCdEf is not under tollgate/Test/, the only secrets the proxy may read',
    );
  });
});

describe('TollgateStack: tracing headers that are not in Secrets Manager', () => {
  test('a value written in the config is a synth warning naming the header, never the value: it is in the template and the function\'s environment in plain text', () => {
    // WHEN
    const { stack } = synth({
      gatewayConfig: { tracing: { export: { endpoint: 'https://api.honeycomb.io', headers: { 'x-honeycomb-team': 'hcaik_01abcdefghijklmnop', 'x-honeycomb-dataset': 'tollgate' } } } },
    });

    // THEN one warning per header, each acknowledgeable by its id
    const found = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('plain text'));
    expect(found.map((warning) => String(warning.entry.data))).toEqual([
      expect.stringContaining('gatewayConfig tracing.export.headers.x-honeycomb-team: its value is in plain text in the template and in the function\'s environment'),
      expect.stringContaining('gatewayConfig tracing.export.headers.x-honeycomb-dataset: its value is in plain text'),
    ]);
    expect(JSON.stringify(found)).not.toContain('hcaik_01abcdefghijklmnop');
    expect(String(found[0]!.entry.data)).toContain('{"secret": "tollgate/Test/<name>"}');
    expect(String(found[0]!.entry.data)).toContain('[ack: tollgate:tracing-header-in-plain-text]');
  });

  test('{ "env" } fails synth naming the header: the stack sets no variables of the operator\'s, so the function could not start', () => {
    expect(() =>
      synth({ gatewayConfig: { tracing: { projects: { acme: { export: { ...LOGFIRE, headers: { Authorization: { env: 'LOGFIRE_TOKEN' } } } } } } } }),
    ).toThrow(
      'TollgateProxy gatewayConfig tracing.projects.acme.export.headers.Authorization: {"env": "LOGFIRE_TOKEN"} is never set on Lambda (the stack sets no environment variables of yours), so the function would fail to start: keep the value in Secrets Manager and name it, {"secret": "tollgate/Test/<name>"}',
    );
  });
});
