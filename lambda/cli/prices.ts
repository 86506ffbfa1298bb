import { requiredPricingIds } from '../prices/apply';
import { localPriceStore } from '../prices/local';
import { refreshPrices } from '../prices/refresh';
import { parsePriceData } from '../prices/validate';
import { parseCommandArgs, wantsHelp } from './args';
import { PRICES_HELP, PRICES_REFRESH_HELP, PRICES_STATUS_HELP } from './help';
import { CliFailure, UsageError, type CliIo } from './io';
import { printJson } from './output';

/** `tollgate prices refresh|status`: the local copy of genai-prices' data under the data directory. */
export async function pricesCommand(args: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'refresh':
      return wantsHelp(rest) ? help(io, PRICES_REFRESH_HELP) : refresh(rest, io);
    case 'status':
      return wantsHelp(rest) ? help(io, PRICES_STATUS_HELP) : status(rest, io);
    case 'help':
    case '--help':
    case '-h':
      return help(io, PRICES_HELP);
    case undefined:
      throw new UsageError('missing prices command (refresh or status)', 'prices');
    default:
      throw new UsageError(`unknown prices command "${sub}"`, 'prices');
  }
}

function help(io: CliIo, text: string): number {
  io.stdout.write(text);
  return 0;
}

async function refresh(args: readonly string[], io: CliIo): Promise<number> {
  const command = 'prices refresh';
  const { values } = parseCommandArgs(command, args, { url: { type: 'string' } });
  const url = values.url ?? io.env['TOLLGATE_PRICES_URL'];
  if (url !== undefined && !URL.canParse(url)) throw new UsageError(`--url must be a URL, not "${url}"`, command);
  const store = localPriceStore(io.env, io.cwd);
  const result = await refreshPrices({ store, requiredProviders: requiredPricingIds(), ...(url !== undefined && { url }) });

  if (values.json) printJson(io.stdout, result);
  switch (result.kind) {
    case 'updated':
      if (!values.json) io.stdout.write(`Stored new price data: ${result.providers} providers, ${result.models} models (${result.bytes} bytes). The server uses it from its next start.\n`);
      return 0;
    case 'unchanged':
      if (!values.json) io.stdout.write(`Price data is unchanged since ${result.snapshot.fetchedAt}; marked as checked now.\n`);
      return 0;
    case 'unreachable':
    case 'rejected': {
      const kept = result.kept ? `the copy fetched ${result.kept.fetchedAt} is kept` : "genai-prices' bundled data stays in use";
      const what = result.kind === 'unreachable' ? 'could not fetch price data' : 'rejected the price data';
      if (values.json) return 1;
      throw new CliFailure(`${what}: ${result.reason}; ${kept}`);
    }
  }
}

async function status(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs('prices status', args, {});
  const snapshot = await localPriceStore(io.env, io.cwd).load();
  if (!snapshot) {
    if (values.json) printJson(io.stdout, { stored: false });
    else io.stdout.write('No stored price data: the bundled genai-prices data is in use. Fetch the latest with: npx tollgate prices refresh\n');
    return 0;
  }
  const verdict = parsePriceData(snapshot.data, requiredPricingIds());
  const { data, ...meta } = snapshot;
  if (values.json) {
    printJson(io.stdout, { stored: true, ...meta, bytes: data.byteLength, valid: verdict.ok, ...(verdict.ok ? { providers: verdict.providers.length, models: verdict.models } : { reason: verdict.reason }) });
    return verdict.ok ? 0 : 1;
  }
  if (!verdict.ok) throw new CliFailure(`the stored price data is invalid (${verdict.reason}); run "tollgate prices refresh"`);
  io.stdout.write(
    `Stored price data: ${verdict.providers.length} providers, ${verdict.models} models\n` +
      `  source:   ${meta.source}\n  fetched:  ${meta.fetchedAt}\n  checked:  ${meta.checkedAt}\n  sha256:   ${meta.sha256}\n`,
  );
  return 0;
}
