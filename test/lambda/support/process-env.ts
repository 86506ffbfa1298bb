/**
 * Sets `env` on `process.env` for a test that loads the handler as Lambda would (it reads its
 * environment at init); the returned function puts every variable back as it was, absent ones removed.
 */
export function setProcessEnv(env: Readonly<Record<string, string>>): () => void {
  const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, env);
  return () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}
