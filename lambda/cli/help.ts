/** Help texts live apart from the commands, so `--help` loads none of the gateway. */

export const MAIN_HELP = `Usage: tollgate [command] [options]

Commands:
  serve              Run the gateway (the default)
  keys create        Issue a key for a project (shown once)
  keys list          List keys
  keys revoke <id>   Revoke a key
  spend              Show spend per key, user and project
  prices refresh     Fetch the latest genai-prices data into the data directory

Every command accepts --json (machine-readable output only) and --help.
The CLI reads the same store settings as the server: TOLLGATE_STORE, TOLLGATE_DATA_DIR, ...

A deployed stack (with your AWS credentials), before the command:
  --stack <name> --region <region> --keys-table <name> --spend-table <name>
  e.g. tollgate --region eu-west-1 --keys-table ... --spend-table ... keys create --project acme
`;

export const SERVE_HELP = `Usage: tollgate [serve] [--port <port>] [--host <host>] [--json]

Runs the gateway. On the first run (no projects yet) it creates project "default" and prints a
key for it, once. Stop with Ctrl-C.

Options:
  --port <port>  Port to listen on (default: PORT, else 8787; 0 picks a free one)
  --host <host>  Address to bind (default: TOLLGATE_HOST, else 127.0.0.1)
  --json         Print JSON lines only: a "listening" line (with the first-run key, if
                 any) instead of the banner, then the request log

Environment:
  TOLLGATE_CONFIG     Config file (default: ./tollgate.config.json if present)
  TOLLGATE_STORE      sqlite (default) or dynamodb
  TOLLGATE_DATA_DIR   SQLite directory (default: .tollgate)
  OPENAI_API_KEY      The upstream credential (or whatever the config names)
`;

export const KEYS_HELP = `Usage: tollgate keys <command> [options]

Commands:
  create --project <p> [--user <u>] [--name <n>]   Issue a key; it is shown once, never again
  list [--project <p>] [--user <u>]                List keys (never the key itself)
  revoke <id>                                      Revoke a key by its id

Every command accepts --json for machine-readable output.
Run "tollgate keys <command> --help" for details.
`;

export const KEYS_CREATE_HELP = `Usage: tollgate keys create --project <project> [--user <user>] [--name <name>] [--json]

Issues a gateway key for a project (created if new). The key is printed once, on stdout, and
cannot be shown again: only its hash is stored.

Options:
  --project <p>  Project the key's spend counts against (required)
  --user <u>     User the key's spend also counts against
  --name <n>     A label for listings, e.g. "ci" or "laptop"
  --json         Print {key, id, prefix, project, user, name, createdAt}
`;

export const KEYS_LIST_HELP = `Usage: tollgate keys list [--project <project>] [--user <user>] [--json]

Lists keys with their id, visible prefix, project, user, name, creation time and status.
Keys themselves are never stored, so they are never listed.
`;

export const KEYS_REVOKE_HELP = `Usage: tollgate keys revoke <id> [--json]

Revokes a key: requests with it are refused from now on. Revoking twice keeps the first time.
Find ids with "tollgate keys list". A whole key is accepted in place of its id.
`;

export const SPEND_HELP = `Usage: tollgate spend [--key <id> | --project <p> | --user <u>] [--period <kind>] [--json]

Shows spend counters, in USD and requests, for every scope (key, user, project) and period
(day:YYYY-MM-DD, week:<its Monday>, month:YYYY-MM, lifetime; UTC). With no scope option, all.

Options:
  --key <id>       One key, by id (see "tollgate keys list")
  --project <p>    One project
  --user <u>       One user
  --period <kind>  Only day, week, month or lifetime counters
  --json           Print [{scope: {kind, id}, period, nanos, usd, requests}]
`;

export const PRICES_HELP = `Usage: tollgate prices <command> [options]

Commands:
  refresh [--url <url>]   Fetch genai-prices' latest data, check it, and store it under the data
                          directory; the server uses it from its next start
  status                  Show the stored copy (source, when fetched and last checked)

Every command accepts --json for machine-readable output.
`;

export const PRICES_REFRESH_HELP = `Usage: tollgate prices refresh [--url <url>] [--json]

Fetches genai-prices' price data, checks it (shape, numeric prices, every provider tollgate routes
to present) and stores it as <data dir>/genai-prices.json. Data that cannot be fetched or fails
the checks is not stored: the previous copy (or the bundled data) stays in use, and the exit code is 1.

Options:
  --url <url>  Where to fetch from (default: TOLLGATE_PRICES_URL, else genai-prices' data.json)
  --json       Print the outcome: {kind: "updated" | "unchanged" | "unreachable" | "rejected", ...}
`;

export const PRICES_STATUS_HELP = `Usage: tollgate prices status [--json]

Shows the stored price data: where it came from, when it was fetched and last confirmed, and
how many providers and models it prices.
`;
