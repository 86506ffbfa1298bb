/**
 * Finds planted secrets in exported telemetry. Each secret is looked for as sent, and in the
 * encodings a leak could take on the way: base64 (a protobuf `bytes` field decoded as JSON),
 * hex, URL-encoding and JSON string escaping. A secret's distinctive tail is searched too, so a
 * leak that cut or wrapped it (`Bearer …`, a truncated body) is still found.
 *
 * @example
 * const leaks = scanForSecrets(receiver.requests.map((r) => r.raw), { gatewayKey: key, providerKey: UPSTREAM_KEY });
 * expect(leaks).toEqual([]);
 */
export function scanForSecrets(haystacks: readonly (string | Uint8Array)[], secrets: Readonly<Record<string, string>>): string[] {
  const texts = haystacks.flatMap((haystack) => {
    const buffer = typeof haystack === 'string' ? Buffer.from(haystack, 'utf8') : Buffer.from(haystack);
    // latin1 keeps every byte as one character: a secret inside protobuf bytes is found verbatim.
    return [buffer.toString('latin1'), buffer.toString('utf8')];
  });
  const found = new Set<string>();
  for (const [label, secret] of Object.entries(secrets)) {
    const needles = new Set<string>();
    for (const form of [secret, ...tails(secret)]) {
      needles.add(form);
      needles.add(Buffer.from(form).toString('base64').replace(/=+$/, ''));
      needles.add(Buffer.from(form).toString('hex'));
      needles.add(encodeURIComponent(form));
      needles.add(JSON.stringify(form).slice(1, -1));
    }
    for (const needle of needles) {
      if (needle.length >= 12 && texts.some((text) => text.includes(needle))) found.add(label);
    }
  }
  return [...found].sort();
}

/** The last 16 and 24 characters: what survives a prefix being cut or wrapped. */
function tails(secret: string): string[] {
  return [secret.slice(-16), secret.slice(-24)].filter((tail) => tail.length >= 12 && tail !== secret);
}
