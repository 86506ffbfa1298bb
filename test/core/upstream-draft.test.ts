import { draftUpstream } from '../../lambda/core/upstream';

describe('the request as it leaves for the upstream', () => {
  const base = new URL('https://api.example.test/v1/');

  it.each([
    ['/chat/completions', ''],
    ['/models/gpt-4o', '?a=1&b=two'],
    ['/model/amazon.nova-pro-v1%3A0/converse-stream', ''],
    ['/projects/p/locations/us-central1/publishers/google/models/gemini-2.5-flash:streamGenerateContent', '?alt=sse'],
    ["/files/a'b(c)*~", "?q=x/y?z=1"],
    ['/odd/"quoted"/<angle>/{brace}/`tick`', ''],
    ['/spaces and ümlauts', '?q=a b'],
    ['/query-quote', "?name=o'neil"],
    ['/empty-query', '?'],
    ['/hash', '?a=%23'],
  ])('has the path and query the URL standard gives %s%s, on the configured host only', (path, query) => {
    const draft = draftUpstream({ baseUrl: base, path, query, method: 'POST', incoming: { host: 'attacker.test', 'x-forwarded-host': 'attacker.test' }, body: undefined });
    const expected = new URL(`${base.origin}/v1${path}${query}`);
    expect(draft.origin).toBe('https://api.example.test');
    expect(draft.target).toBe(`${expected.pathname}${expected.search}`);
    expect(draft.url.href).toBe(expected.href);
    expect(draft.headers['host']).toBeUndefined();
  });
});
