import { startLocalGateway } from '../../lambda/app/local-gateway';
import { ConfigError, parseConfig } from '../../lambda/config/config';
import { silentLogger } from '../../lambda/core/log';
import { openSqliteStore } from '../../lambda/store/sqlite';
import { tempDir } from '../cli/run';

/** `npm start` has no Secrets Manager reader: a tracing header held in a secret stops it, saying why. */
describe('the local gateway, a tracing header from Secrets Manager', () => {
  it('refuses to start with a ConfigError that names the header and says it works only on AWS', async () => {
    // GIVEN a config whose Logfire token is named by secret
    const dir = tempDir('tollgate-otel-');
    const config = parseConfig(
      { tracing: { export: { endpoint: 'http://127.0.0.1:4318', headers: { Authorization: { secret: 'tollgate/prod/logfire', field: 'token' } } } } },
      'tollgate.config.json',
    );
    try {
      // WHEN the local gateway starts
      const started = startLocalGateway({ store: openSqliteStore({ dataDir: ':memory:' }), config, env: { TOLLGATE_DATA_DIR: dir.path }, port: 0, logger: silentLogger });

      // THEN it does not: the error names the header, and says where secrets are read and what to use here
      const error = await started.then(
        async (gateway) => {
          await gateway.close();
          return undefined;
        },
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toBe(
        'tracing.export.headers.Authorization: {"secret": …} values are read from AWS Secrets Manager, which only the AWS deployment does; here, name an environment variable: {"env": "NAME"}',
      );
    } finally {
      dir.remove();
    }
  });
});
