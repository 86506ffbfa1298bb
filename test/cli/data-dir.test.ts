import { chmodSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { json, run, tempDir } from './run';

const mode = (path: string): string => (statSync(path).mode & 0o7777).toString(8);

describe('tollgate commands and the data directory', () => {
  let dir: ReturnType<typeof tempDir>;
  let umask: number;
  beforeEach(() => {
    dir = tempDir();
    umask = process.umask(0);
  });
  afterEach(() => {
    process.umask(umask);
    dir.remove();
  });

  it('create a fresh data directory private to the user: 0700, the store 0600', async () => {
    // GIVEN a data directory that does not exist
    const data = join(dir.path, 'state', 'tollgate');
    const env = { TOLLGATE_DATA_DIR: data };

    // WHEN a key is created, then listed by another command
    const created = await run(['keys', 'create', '--project', 'acme', '--json'], env);
    const listed = await run(['keys', 'list', '--json'], env);

    // THEN both work on it, and it is private
    expect(created).toMatchObject({ code: 0, stderr: '' });
    expect(json<{ id: string }[]>(listed).map((key) => key.id)).toEqual([json<{ id: string }>(created).id]);
    expect(mode(data)).toBe('700');
    expect(readdirSync(data)).toEqual(['tollgate.db']);
    expect(mode(join(data, 'tollgate.db'))).toBe('600');
  });

  it('refuse a data directory shared with other users, saying what to use instead', async () => {
    // GIVEN a directory like /tmp
    const shared = join(dir.path, 'tmp');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);

    // WHEN
    const result = await run(['keys', 'list'], { TOLLGATE_DATA_DIR: shared });

    // THEN
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `tollgate: ${shared} is shared with other users (mode 1777): anyone could delete or replace tollgate's data in it. ` +
        `Point TOLLGATE_DATA_DIR at a directory of its own, such as ${join(shared, 'tollgate')}, which tollgate creates private (0700).\n`,
    );
    expect(existsSync(join(shared, 'tollgate.db'))).toBe(false);
    expect(mode(shared)).toBe('1777');
  });
});
