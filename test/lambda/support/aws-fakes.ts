import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request seen on the wire: the AWS JSON protocol names its operation in X-Amz-Target. */
export interface SeenCall {
  readonly at: number;
  /** e.g. `DynamoDB_20120810.GetItem`, `secretsmanager.GetSecretValue` */
  readonly target: string;
  readonly body: string;
}

export interface Listening {
  readonly endpoint: string;
  readonly calls: SeenCall[];
  close(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closer(server: Server): () => Promise<void> {
  return async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * Sits between an SDK client and dynalite, recording every call with the time it arrived: how
 * the tests count store round trips without touching the code under test.
 */
export async function startRecordingProxy(upstream: string): Promise<Listening> {
  const calls: SeenCall[] = [];
  const target = new URL(upstream);
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readAll(req);
      calls.push({ at: performance.now(), target: String(req.headers['x-amz-target'] ?? ''), body: body.toString('utf8') });
      const forward = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      forward.on('error', () => res.destroy());
      forward.end(body);
    })();
  });
  return { endpoint: await listen(server), calls, close: closer(server) };
}

export interface FakeSecret {
  readonly SecretString?: string;
  readonly SecretBinary?: string;
}

export interface FakeSecretsManager extends Listening {
  readonly secrets: Map<string, FakeSecret>;
  /** While set, every call fails with this status (a throttled or unavailable service). */
  failWith: number | undefined;
}

/**
 * Secrets Manager's GetSecretValue (and CreateSecret, DeleteSecret) over its real wire protocol
 * (AWS JSON 1.1), on loopback, so the resolver runs through the actual SDK client: signing,
 * endpoint, error parsing and all.
 */
export async function startFakeSecretsManager(secrets: Record<string, FakeSecret> = {}): Promise<FakeSecretsManager> {
  const calls: SeenCall[] = [];
  const store = new Map(Object.entries(secrets));
  const fake = { secrets: store, failWith: undefined as number | undefined };
  const server = createServer((req, res) => {
    void (async () => {
      const body = (await readAll(req)).toString('utf8');
      const target = String(req.headers['x-amz-target'] ?? '');
      calls.push({ at: performance.now(), target, body });
      if (fake.failWith !== undefined) return reply(res, fake.failWith, { __type: 'InternalServiceError', message: 'the service is unavailable' });
      // What `tollgate providers add|remove --stack` does to the stack's secrets.
      if (target === 'secretsmanager.CreateSecret') {
        const { Name, SecretString } = JSON.parse(body) as { Name: string; SecretString: string };
        if (store.has(Name)) return reply(res, 400, { __type: 'ResourceExistsException', message: `The operation failed because the secret ${Name} already exists.` });
        store.set(Name, { SecretString });
        return reply(res, 200, { ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${Name}-AbCdEf`, Name, VersionId: 'v1' });
      }
      if (target === 'secretsmanager.DeleteSecret') {
        const { SecretId } = JSON.parse(body) as { SecretId: string };
        if (!store.delete(SecretId)) return reply(res, 400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
        return reply(res, 200, { ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${SecretId}-AbCdEf`, Name: SecretId, DeletionDate: 1_700_000_000 });
      }
      if (target !== 'secretsmanager.GetSecretValue') return reply(res, 400, { __type: 'InvalidRequestException', message: `unsupported ${target}` });
      const { SecretId } = JSON.parse(body) as { SecretId: string };
      const secret = store.get(SecretId);
      if (!secret) return reply(res, 400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
      reply(res, 200, { ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${SecretId}-AbCdEf`, Name: SecretId, VersionId: 'v1', VersionStages: ['AWSCURRENT'], CreatedDate: 1_700_000_000, ...secret });
    })();
  });
  const endpoint = await listen(server);
  return Object.assign(fake, { endpoint, calls, close: closer(server) });
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'content-length': String(Buffer.byteLength(text)), 'x-amzn-requestid': 'fake' });
  res.end(text);
}

/** Serves whatever body the test sets, to stand in for genai-prices' data URL. */
export interface FakePriceSource extends Listening {
  readonly url: string;
  status: number;
  body: string | Buffer;
}

export async function startFakePriceSource(body: string | Buffer): Promise<FakePriceSource> {
  const calls: SeenCall[] = [];
  const fake = { status: 200, body };
  const server = createServer((req, res) => {
    calls.push({ at: performance.now(), target: req.url ?? '', body: '' });
    const bytes = Buffer.isBuffer(fake.body) ? fake.body : Buffer.from(fake.body);
    res.writeHead(fake.status, { 'content-type': 'application/json', 'content-length': String(bytes.length) });
    res.end(bytes);
  });
  const endpoint = await listen(server);
  return Object.assign(fake, { endpoint, url: `${endpoint}/prices/data.json`, calls, close: closer(server) });
}
