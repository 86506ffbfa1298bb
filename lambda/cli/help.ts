/** Help texts live apart from the commands, so `--help` loads none of the gateway. */

export const MAIN_HELP = `Usage: tollgate [command] [options]

Commands:
  serve                  Run the gateway (the default)
  projects create|list|show|set-limits|set-access
                         Projects, their spend caps, strict or soft mode, and allowed routes and models
  users create|list|set-limits
                         Users, whose caps apply across all of their keys
  keys create            Issue a key for a project, with caps, rate limits, expiry (shown once)
  keys list              List keys with their status, limits and allow-lists
  keys show <id>         One key, with what it and its project allow
  keys set-limits <id>   Change a key's caps, rate limits or expiry
  keys set-access <id>   Change the routes and models a key may use
  keys disable|enable <id>
                         Stop a key for now, or let it work again
  keys revoke <id>       Revoke a key, for good
  providers add|list|remove
                         A project's own provider accounts (bring your own credential)
  spend                  Show spend against each cap, and when each resets
  prices refresh         Fetch the latest genai-prices data into the data directory

Amounts are USD, such as 50 or 12.50 (up to 9 decimals). Periods are UTC calendar days, weeks
(from Monday 00:00 UTC) and months, plus lifetime.

Every command accepts --json (machine-readable output only) and --help.
The CLI reads the same store settings as the server: TOLLGATE_STORE, TOLLGATE_DATA_DIR, ...

A deployed stack (with your AWS credentials), before the command:
  --stack <name> --region <region>   (table names read from the stack's outputs)
  or --keys-table <name> --spend-table <name>
  e.g. tollgate --stack Tollgate-eu-west-1 --region eu-west-1 keys create --project acme
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

/** What `--routes` and `--models` take, the same for keys and projects. */
const ACCESS_OPTION_LINES = `  --routes <list>    Route names (/proxy/<route>/...) it may use, comma-separated; "*" matches
                     any run of characters, "?" any one (default: every route)
  --models <list>    Models it may use, as the request names them, e.g. 'gpt-5*,claude-*'
                     (default: every model); checked on metered calls, not on model listings
                     or token counts`;

export const KEYS_HELP = `Usage: tollgate keys <command> [options]

Commands:
  create --project <p> [--user <u>] [--name <n>] [limits]
                        Issue a key; it is shown once, never again
  list [--project <p>] [--user <u>]
                        List keys with status, limits and allow-lists (never the key itself)
  show <id>             One key, with the routes and models it and its project allow
  set-limits <id> [limits]
                        Change a key's caps, rate limits or expiry
  set-access <id> [--routes <list>] [--models <list>]
                        Change the routes and models a key may use
  disable <id>          Refuse the key's requests until it is enabled again
  enable <id>           Let a disabled (or blocked) key work again
  revoke <id>           Revoke a key, for good

Every command accepts --json for machine-readable output.
Run "tollgate keys <command> --help" for details.
`;

export const KEYS_CREATE_HELP = `Usage: tollgate keys create --project <project> [--user <user>] [--name <name>]
         [--daily <USD>] [--weekly <USD>] [--monthly <USD>] [--lifetime <USD>]
         [--rpm <n>] [--concurrent <n>] [--expires <when>]
         [--routes <list>] [--models <list>] [--json]

Issues a gateway key for a project (and user), creating them if new. The key is printed once, on
stdout, and cannot be shown again: only its hash is stored. Its limits are part of the key from
the start. The project's and user's own caps apply to the key's requests too, and so do the
project's allowed routes and models: the key's own lists can only narrow them.

Options:
  --project <p>      Project the key's spend counts against (required)
  --user <u>         User the key's spend also counts against
  --name <n>         A label for listings, e.g. "ci" or "laptop"
  --daily <USD>      Cap per UTC day
  --weekly <USD>     Cap per UTC week (Monday 00:00 UTC to the next)
  --monthly <USD>    Cap per UTC calendar month
  --lifetime <USD>   Cap over all time; it never resets
  --rpm <n>          Requests per minute (a 429 with Retry-After beyond it)
  --concurrent <n>   Requests in flight at once; a stream counts until it ends
  --expires <when>   A duration from now (90m, 12h, 30d, 2w), a date (2026-12-31: 00:00 UTC)
                     or a time with its zone (2026-12-31T18:00:00Z)
${ACCESS_OPTION_LINES}
  --json             Print {key, id, prefix, project, user, name, status, limits, access, ...}

Example:
  tollgate keys create --project acme --user ada --daily 5 --monthly 50 --rpm 60 --expires 30d
  tollgate keys create --project acme --routes openai,anthropic --models 'gpt-5*,claude-*'
`;

export const KEYS_LIST_HELP = `Usage: tollgate keys list [--project <project>] [--user <user>] [--json]

Lists keys with their id, visible prefix, project, user, name, creation time, status, limits and
their own allowed routes and models (their project's apply too: see "tollgate keys show <id>").
Status is what the gateway would do with the key now: active, disabled, revoked, expired, or
blocked (after a request whose cost could not be calculated, where the provider's policy says so).
Keys themselves are never stored, so they are never listed.
`;

export const KEYS_SET_LIMITS_HELP = `Usage: tollgate keys set-limits <id>
         [--daily <USD|none>] [--weekly <USD|none>] [--monthly <USD|none>] [--lifetime <USD|none>]
         [--rpm <n|none>] [--concurrent <n|none>] [--expires <when|none>] [--json]

Changes a key's limits; options left out stay as they are, and "none" removes one. Running
gateways apply the change within their record cache TTL (limits.keyCacheTtlMs, 5 s by default).

Options:
  --daily <USD|none>     Cap per UTC day; "none" removes it
  --weekly <USD|none>    Cap per UTC week (from Monday 00:00 UTC)
  --monthly <USD|none>   Cap per UTC calendar month
  --lifetime <USD|none>  Cap over all time; it never resets
  --rpm <n|none>         Requests per minute
  --concurrent <n|none>  Requests in flight at once
  --expires <when|none>  A duration from now (90m, 12h, 30d, 2w), a date (00:00 UTC) or a time
                         with its zone (2026-12-31T18:00:00Z); "none": never expires
  --json                 Print the key's record (never the key or its hash)

Example:
  tollgate keys set-limits 3f9a0c1d2e4b --monthly 100 --daily none --expires 2027-01-01
`;

export const KEYS_SHOW_HELP = `Usage: tollgate keys show <id> [--json]

Shows one key: project, user, name, status, limits, and the routes and models it may use, beside
its project's (a request must be allowed by both; "any" is no list). A whole key is accepted in
place of its id.

Options:
  --json   Print the key's record as "keys list --json" does, plus "projectAccess" (its project's
           lists; null for a list is every route or model)
`;

export const KEYS_SET_ACCESS_HELP = `Usage: tollgate keys set-access <id> [--routes <list> | --clear-routes]
         [--models <list> | --clear-models] [--json]

Changes the routes and models a key may use; a list left out stays as it is, and a list given
replaces the old one. The key can use only what its project allows as well (see "projects
set-access"). Running gateways apply the change within their record cache TTL
(limits.keyCacheTtlMs, 5 s by default). A whole key is accepted in place of its id.

Options:
${ACCESS_OPTION_LINES}
  --clear-routes     Remove the key's route list: every route its project allows
  --clear-models     Remove the key's model list: every model its project allows
  --json             Print the key's record (never the key or its hash)

Example:
  tollgate keys set-access 3f9a0c1d2e4b --models 'gpt-5*,claude-sonnet-*' --clear-routes
`;

export const KEYS_DISABLE_HELP = `Usage: tollgate keys disable <id> [--json]

Disables a key: its requests are refused (403) until "tollgate keys enable <id>". Running gateways
stop accepting it within their record cache TTL (limits.keyCacheTtlMs, 5 s by default).
A whole key is accepted in place of its id.
`;

export const KEYS_ENABLE_HELP = `Usage: tollgate keys enable <id> [--json]

Re-enables a disabled key, and lifts a block placed after a request whose cost could not be
calculated. A revoked key cannot be enabled; an expired one needs a new --expires (keys set-limits).
A whole key is accepted in place of its id.
`;

export const KEYS_REVOKE_HELP = `Usage: tollgate keys revoke <id> [--json]

Revokes a key, for good: requests with it are refused (403) from now on, once running gateways'
record cache (limits.keyCacheTtlMs, 5 s by default) has expired. Revoking twice keeps the first time.
Find ids with "tollgate keys list". A whole key is accepted in place of its id.
`;

export const PROJECTS_HELP = `Usage: tollgate projects <command> [options]

Commands:
  create <name> [caps] [--mode strict|soft] [--routes <list>] [--models <list>]
                                                 Create a project with spend caps
  list                                           List projects, their mode, caps and allow-lists
  show <name>                                    One project's settings
  set-limits <name> [caps] [--mode strict|soft]  Change a project's caps or mode
  set-access <name> [--routes <list>] [--models <list>]
                                                 Change the routes and models its keys may use

A project's caps hold across every key of the project. Its mode decides how all caps on its
keys' requests (key, user and project) are enforced:
  strict  Reserve each request's upper-bound cost before forwarding it: caps are never crossed
  soft    Admit requests while settled spend is under the cap: concurrent requests may overshoot

Every command accepts --json for machine-readable output.
Run "tollgate projects <command> --help" for details.
`;

export const PROJECTS_CREATE_HELP = `Usage: tollgate projects create <name> [--daily <USD>] [--weekly <USD>] [--monthly <USD>]
         [--lifetime <USD>] [--mode strict|soft] [--routes <list>] [--models <list>] [--json]

Creates a project. An existing project is left alone (change it with "projects set-limits" or
"projects set-access").
("keys create --project <name>" also creates a project on first use, with no caps.)

Options:
  --daily <USD>      Cap per UTC day
  --weekly <USD>     Cap per UTC week (Monday 00:00 UTC to the next)
  --monthly <USD>    Cap per UTC calendar month
  --lifetime <USD>   Cap over all time; it never resets
  --mode <m>         strict (the default) or soft; see "tollgate projects --help"
${ACCESS_OPTION_LINES.replaceAll('it may', 'its keys may')}
  --json             Print {name, createdAt, mode, limits, access}

Example:
  tollgate projects create acme --monthly 50 --daily 5 --routes openai,anthropic
`;

export const PROJECTS_LIST_HELP = `Usage: tollgate projects list [--json]

Lists projects with their mode, caps (USD; "-" for none) and allowed routes and models ("-": any).
`;

export const PROJECTS_SHOW_HELP = `Usage: tollgate projects show <name> [--json]

Shows one project: mode, caps, the routes and models its keys may use ("any" is no list), and how
many keys it has.
`;

export const PROJECTS_SET_ACCESS_HELP = `Usage: tollgate projects set-access <name> [--routes <list> | --clear-routes]
         [--models <list> | --clear-models] [--json]

Changes the routes and models every key of the project may use; a list left out stays as it is,
and a list given replaces the old one. A key's own lists (keys set-access) can narrow these, never
widen them. Running gateways apply the change within their record cache TTL (limits.keyCacheTtlMs,
5 s by default).

Options:
${ACCESS_OPTION_LINES.replaceAll('it may', 'its keys may')}
  --clear-routes     Remove the route list: every route
  --clear-models     Remove the model list: every model
  --json             Print {name, createdAt, mode, limits, access}

Example:
  tollgate projects set-access acme --routes 'openai,anthropic,bedrock' --models 'gpt-5*,*claude-*'
  tollgate projects set-access acme --clear-routes --clear-models
`;

export const PROJECTS_SET_LIMITS_HELP = `Usage: tollgate projects set-limits <name> [--daily <USD|none>] [--weekly <USD|none>]
         [--monthly <USD|none>] [--lifetime <USD|none>] [--mode strict|soft] [--json]

Changes a project's caps or mode; options left out stay as they are, and "none" removes a cap.
Running gateways apply the change within their record cache TTL (limits.keyCacheTtlMs, 5 s by default).

Options:
  --daily <USD|none>     Cap per UTC day; "none" removes it
  --weekly <USD|none>    Cap per UTC week (from Monday 00:00 UTC)
  --monthly <USD|none>   Cap per UTC calendar month
  --lifetime <USD|none>  Cap over all time; it never resets
  --mode <m>             strict or soft
  --json                 Print {name, createdAt, mode, limits}

Example:
  tollgate projects set-limits acme --monthly 80 --daily none --mode soft
`;

export const USERS_HELP = `Usage: tollgate users <command> [options]

Commands:
  create <name> [caps]      Create a user with spend caps
  list                      List users and their caps
  set-limits <name> [caps]  Change a user's caps

A user's caps hold across all of their keys, in every project. Keys are given a user with
"tollgate keys create --project <p> --user <name>".

Every command accepts --json for machine-readable output.
Run "tollgate users <command> --help" for details.
`;

export const USERS_CREATE_HELP = `Usage: tollgate users create <name> [--daily <USD>] [--weekly <USD>] [--monthly <USD>]
         [--lifetime <USD>] [--json]

Creates a user. An existing user is left alone (change them with "users set-limits").
("keys create --user <name>" also creates a user on first use, with no caps.)

Options:
  --daily <USD>      Cap per UTC day
  --weekly <USD>     Cap per UTC week (Monday 00:00 UTC to the next)
  --monthly <USD>    Cap per UTC calendar month
  --lifetime <USD>   Cap over all time; it never resets
  --json             Print {name, createdAt, limits}

Example:
  tollgate users create ada --daily 2 --monthly 20
`;

export const USERS_LIST_HELP = `Usage: tollgate users list [--json]

Lists users with their caps (USD; "-" for none).
`;

export const USERS_SET_LIMITS_HELP = `Usage: tollgate users set-limits <name> [--daily <USD|none>] [--weekly <USD|none>]
         [--monthly <USD|none>] [--lifetime <USD|none>] [--json]

Changes a user's caps; options left out stay as they are, and "none" removes a cap.
Running gateways apply the change within their record cache TTL (limits.keyCacheTtlMs, 5 s by default).

Options:
  --daily <USD|none>     Cap per UTC day; "none" removes it
  --weekly <USD|none>    Cap per UTC week (from Monday 00:00 UTC)
  --monthly <USD|none>   Cap per UTC calendar month
  --lifetime <USD|none>  Cap over all time; it never resets
  --json                 Print {name, createdAt, limits}
`;

export const SPEND_HELP = `Usage: tollgate spend [--key <id> | --project <p> | --user <u>] [--period <kind>] [--history] [--json]

Shows spend against each cap: for every scope (project, user, key), the current UTC day, week
(from Monday 00:00 UTC) and month, and lifetime, with the amount settled, the amount reserved by
requests in flight, the cap, the share of it used ((settled + reserved) / cap) and when the period
resets. Periods with spend but no cap are shown too. With no scope option: every scope with a cap
or any spend.

Spend on a project's own provider accounts (see "tollgate providers") is also recorded as
"byok:<project>/<account>". Beside such a project, "managed:<project>" is its settled spend less
that: what it spent on the gateway's own credentials, to bill back. Neither carries caps; the
project's caps cover both.

Options:
  --key <id>       One key, with the user and project whose caps also apply to its requests
  --project <p>    One project, and its spend per account, managed and its own
  --user <u>       One user (their spend across all of their keys)
  --period <kind>  Only day, week, month or lifetime
  --history        Every period with spend, past ones too, newest first (caps on current ones)
  --json           Print [{scope: {kind, id}, period, kind, nanos, usd, reservedNanos, reservedUsd,
                   requests, capNanos, capUsd, usedPercent, resetsAt}]; nanos are integer
                   nano-dollars, resetsAt is null for lifetime (it never resets)
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

export const PROVIDERS_HELP = `Usage: tollgate providers <command> [options]

Commands:
  add --project <p> --name <n> --kind <kind> [credential source] [--base-url <url>] [--options <json>]
      [--unpriced <policy>]
                        Give a project its own provider account (bring your own credential)
  list [--project <p>]  List project accounts (never the credential: its last 4 characters at most)
  remove <name> --project <p>
                        Remove a project account; its keys use the gateway's own accounts again

A project's own account serves that project's keys only. For them it takes the place of the
gateway's accounts of its kind on every route (so their traffic is never billed on the gateway's
credential), and its name is a route of its own. Spend is recorded as usual against key, user and
project caps, and also as "byok:<project>/<account>", so the managed share can be billed back;
see "tollgate spend --project <p>".

Every command accepts --json for machine-readable output.
Run "tollgate providers <command> --help" for details.
`;

export const PROVIDERS_ADD_HELP = `Usage: tollgate providers add --project <project> --name <name> --kind <kind>
         [--credential-from-env <VAR> | --credential-file <path>] [--base-url <url>] [--options <json>]
         [--unpriced reject|allow|block [--unpriced-block-minutes <n>]] [--json]

Adds a provider account of the project's own. Its credential is read from an environment
variable, a file, or standard input (never from the command line, which other users can see),
and is never printed back. Locally it is stored encrypted (AES-256-GCM) with the key in
TOLLGATE_SECRET_KEY, or else the data directory's secret.key, created on first use (0600); the
gateway must run with the same key. For a deployed stack (--stack) it goes to the stack's Secrets
Manager prefix, encrypted with the stack's key. The project is created if it is new.

Options:
  --project <p>               The project whose keys the account serves (required)
  --name <n>                  Account name, unique in the project and a route name for its keys:
                              lower-case letters, digits and "-" (required)
  --kind <kind>               openai, anthropic, groq, google-vertex, bedrock, google-gla,
                              azure-openai or openai-compatible (required)
  --credential-from-env <VAR> Read the credential from this environment variable
  --credential-file <path>    Read it from this file ("-": standard input)
  --base-url <url>            Where the account's requests go (default: the kind's own API)
  --options <json>            The kind's options, as in the config file, e.g. for google-vertex
                              '{"project": "acme-ai", "location": "europe-west4"}'
  --unpriced <policy>         What a request for a model tollgate cannot price meets on this account,
                              as the config file's "unpriced": reject (default: refused before it is
                              forwarded), allow (forwarded, recorded at no cost) or block (forwarded,
                              then its key is blocked). An openai-compatible account whose options
                              name no pricingProvider has no prices: give it allow or block
  --unpriced-block-minutes <n> With --unpriced block: how long the key is blocked (default 60)
  --json                      Print the account as "providers list --json" does

Running gateways start using it within their record cache TTL (limits.keyCacheTtlMs, 5 s by default).

Example:
  OPENAI_KEY_ACME=sk-... tollgate providers add --project acme --name openai-acme --kind openai --credential-from-env OPENAI_KEY_ACME
`;

export const PROVIDERS_LIST_HELP = `Usage: tollgate providers list [--project <project>] [--json]

Lists project provider accounts: project, name, kind, the credential's last 4 characters (none
for one shorter than 12, or JSON; a service account's key file shows its client_email), where it
is stored, its unpriced policy, and the base URL. The credential itself is never shown.
`;

export const PROVIDERS_REMOVE_HELP = `Usage: tollgate providers remove <name> --project <project> [--json]

Removes a project's own provider account. Its keys go back to the gateway's own accounts of that
kind within the running gateways' record cache TTL. With --stack, its secret is deleted from
Secrets Manager at once (no recovery window). Spend already recorded against it is kept.
`;
