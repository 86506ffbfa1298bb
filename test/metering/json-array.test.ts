import { DEFAULT_METERING_SETTINGS } from '../../lambda/config/config';
import { JsonArraySplitter } from '../../lambda/metering/json-array';

function split(chunks: Uint8Array[]): string[] {
  const out: string[] = [];
  const splitter = new JsonArraySplitter((text) => out.push(text), DEFAULT_METERING_SETTINGS.maxBufferedBytes);
  for (const chunk of chunks) splitter.push(chunk);
  splitter.end();
  return out;
}

describe('streamed JSON array splitting', () => {
  const elements = [
    { candidates: [{ content: { parts: [{ text: 'He said "}]" — ok\\' }] } }] },
    { candidates: [{ content: { parts: [{ text: ' 👋 [nested] {braces}' }] } }], usageMetadata: { promptTokenCount: 9, candidatesTokenCount: 4 } },
  ];
  const whole = Buffer.from(`[${elements.map((e) => JSON.stringify(e, null, 1)).join(',\r\n')}]`);

  it('emits each element as it closes, whatever the strings inside contain', () => {
    expect(split([whole]).map((text) => JSON.parse(text))).toEqual(elements);
  });

  it('gives the same elements for every two-way split and byte by byte', () => {
    const expected = split([whole]);
    for (let at = 1; at < whole.length; at++) {
      expect(split([whole.subarray(0, at), whole.subarray(at)])).toEqual(expected);
    }
    expect(split(Array.from(whole, (byte) => Uint8Array.of(byte)))).toEqual(expected);
  });

  it('stops at an element longer than its limit, keeping the elements before it', () => {
    const first = '{"a":1}';
    const large = `{"text":"${'x'.repeat(100)}"}`;
    const out: string[] = [];
    const splitter = new JsonArraySplitter((text) => out.push(text), 64);
    for (const piece of ['[', first, ',', large.slice(0, 50), large.slice(50), ',', first, ']']) splitter.push(Buffer.from(piece));
    splitter.end();

    expect(out).toEqual([first]);
    expect(splitter.overflowed).toBe(true);
  });

  it('emits nothing for an empty array', () => {
    expect(split([Buffer.from('[]')])).toEqual([]);
  });
});
