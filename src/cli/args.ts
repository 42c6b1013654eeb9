/**
 * Command-line flags of `market-registry`: tokenized here (so every error is one line in our
 * words, never Node's parseArgs text) and validated with zod. Pure: takes argv and env, returns
 * options or a UsageError with the message to print.
 */
import path from 'node:path';
import { z } from 'zod';
import { BUCKET_NAME, STREAM_NAME, SUBJECT_PREFIX } from '../publish/layout.js';
import { describeArg } from './redact.js';

export const USAGE = `Usage: market-registry [flags]
       market-registry follow --nats URL [flags]   (see market-registry follow --help)

With no flags, starts the embedded Kalshi simulator on 127.0.0.1 and the registry on it, shows
sync progress, then a live summary. Stop with Ctrl-C.

Exchange:
  --env prod|demo             use Kalshi's production or demo hosts
  --rest-url URL              REST base URL, e.g. http://127.0.0.1:8080/trade-api/v2
  --ws-url URL                WebSocket URL, e.g. ws://127.0.0.1:8080/trade-api/ws/v2
  --no-ws                     REST only: no WebSocket, reconcile every 30 s unless --reconcile-interval
  --key-id ID                 Kalshi API key id           (or env KALSHI_API_KEY_ID)
  --private-key-file FILE     RSA private key PEM file    (or env KALSHI_PRIVATE_KEY_PATH)
  --reconcile-interval MS     REST reconcile period (default 300000; 30000 with --no-ws)
  --status-interval MS        GET /exchange/status period (default 10000)
  --combos include|exclude    multivariate combo markets (KXMVE…): keep them (default) or leave them out

Output:
  --json                      NDJSON on stdout: change, synced, exchange_status, rejected; logs on stderr
  --snapshot-out FILE         on stop, write every known market as one JSON Market per line
                              (checked at start; written to a temporary file, then renamed;
                              left as it was when stopped before the initial sync finished)
  --log-level LEVEL           fatal|error|warn|info|debug|trace|silent (default info; warn with the live view)

Durable and shared:
  --state-dir DIR             keep every market, event and the sync watermarks in DIR (SQLite); a
                              restart loads them, serves at once and catches up (warm start).
                              Default with --env prod|demo: $XDG_STATE_HOME/kalshi-market-registry/ENV
                              (~/.local/state/… without XDG_STATE_HOME); none with --rest-url.
                              Not with the embedded simulator (a new market universe every start)
  --no-state-dir              no state directory, also with --env
  --publish nats://HOST:PORT  publish every change to a JetStream stream and every market's record
                              to a KV bucket (comma-separated URLs for a cluster)
  --publish-stream NAME       stream name (default KALSHI_MARKETS)
  --publish-bucket NAME       KV bucket name (default kalshi-markets)
  --publish-prefix PREFIX     subject prefix (default kalshi.markets)

Visualizer and inspection:
  --visualize [PORT]          serve the statechart visualizer page on http://127.0.0.1:PORT and print its
                              URL on stderr (default port 8420, or any free one if taken; 0 = any free
                              port). On by default with the simulator, off against a real exchange.
                              A port given and taken is an error (exit 2)
  --no-visualize              do not start the visualizer
  --inspect [PORT]            send XState inspection events to the Stately inspector: starts a relay
                              on 127.0.0.1:PORT (default: any free port) and prints how to connect
  --inspect-url URL           send them to an existing Stately inspector server (ws://…) instead

Observability:
  --metrics-port PORT         serve Prometheus /metrics, /healthz and /readyz on 127.0.0.1:PORT
                              (0 = any free port, printed on stderr; taken = exit 2)

Simulator (only without --env/--rest-url):
  --sim-markets N             markets in the embedded simulator (default 20000)
  --sim-events-per-sec N      random lifecycle events per second (default 20; 0 = none)
  --sim-port PORT             port for the simulator (default: any free port; taken = exit 2)

  -h, --help                  show this help
  -v, --version               print the version

SIGINT/SIGTERM stop gracefully (snapshot written, exit 0); a second one prints "stopping, please
wait", a third forces exit (130/143) without touching the snapshot file.
Exit codes: 0 stopped, 1 unexpected error or unusable key, 2 bad flag, port taken or unusable
state directory file (corrupt, foreign, locked), 3 exchange unreachable, 4 the initial sync
keeps failing in a way retrying cannot fix (credentials refused, a URL that does not answer
Kalshi's JSON, a repeated cursor).
`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The visualizer's port when --visualize gives none (any free port if it is taken). */
export const DEFAULT_VISUALIZER_PORT = 8420;

/** How each flag takes its value: none, a required one, or an optional port (`--visualize [PORT]`). */
type FlagKind = 'boolean' | 'string' | 'optional';
type FlagTable = Readonly<Record<string, FlagKind>>;
const FLAGS = {
  env: 'string',
  'rest-url': 'string',
  'ws-url': 'string',
  'no-ws': 'boolean',
  'key-id': 'string',
  'private-key-file': 'string',
  'reconcile-interval': 'string',
  'status-interval': 'string',
  combos: 'string',
  json: 'boolean',
  'snapshot-out': 'string',
  'log-level': 'string',
  'sim-markets': 'string',
  'sim-events-per-sec': 'string',
  'sim-port': 'string',
  visualize: 'optional',
  'no-visualize': 'boolean',
  inspect: 'optional',
  'inspect-url': 'string',
  'metrics-port': 'string',
  'state-dir': 'string',
  'no-state-dir': 'boolean',
  publish: 'string',
  'publish-stream': 'string',
  'publish-bucket': 'string',
  'publish-prefix': 'string',
  help: 'boolean',
  version: 'boolean',
} as const satisfies Record<string, FlagKind>;
type FlagName = keyof typeof FLAGS;
const SHORT_FLAGS: Readonly<Record<string, FlagName>> = { h: 'help', v: 'version' };

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j] as number;
      row[j] = Math.min(cur + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length] as number;
}

function suggestion(name: string, flags: FlagTable): string {
  let best: string | null = null;
  let bestD = Infinity;
  for (const flag of Object.keys(flags)) {
    const d = flag.startsWith(name) || name.startsWith(flag) ? 1 : distance(name, flag);
    if (d < bestD) {
      bestD = d;
      best = flag;
    }
  }
  return best !== null && bestD <= Math.max(2, Math.floor(name.length / 4)) ? ` (did you mean --${best}?)` : '';
}

/** A flag as it may appear in a message: bare when it is a plain word, else through describeArg. */
const flagText = (arg: string): string => (/^-{1,2}[A-Za-z0-9][A-Za-z0-9-]{0,40}$/.test(arg) ? arg : describeArg(arg));

/** A value that is really the next flag, e.g. `--env --json`. `-----BEGIN …` is a value. */
const looksLikeFlag = (arg: string): boolean => /^--[A-Za-z]/.test(arg) || /^-[A-Za-z]$/.test(arg);

/**
 * argv → flag values (last one wins). Every problem is a UsageError with one line that names the
 * flag; values are echoed only through describeArg (never key material, never a long blob).
 */
function tokenize<F extends FlagTable>(
  argv: readonly string[],
  flags: F,
  shortFlags: Readonly<Record<string, keyof F & string>>,
): Partial<Record<keyof F & string, string | boolean>> {
  const isFlag = (name: string): boolean => Object.hasOwn(flags, name);
  // Written through string keys (a generic record is read-only to TypeScript); every key is a Name.
  const values: Partial<Record<string, string | boolean>> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      if (i + 1 < argv.length) throw new UsageError(`unexpected argument ${describeArg(argv[i + 1] as string)} after "--"`);
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      const inline = eq === -1 ? undefined : arg.slice(eq + 1);
      if (!isFlag(name)) throw new UsageError(`unknown flag ${flagText(`--${name}`)}${suggestion(name, flags)}`);
      const kind = flags[name] as FlagKind;
      if (kind === 'boolean') {
        if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
        values[name] = true;
      } else if (kind === 'optional') {
        // `--visualize`, `--visualize 9000`, `--visualize=9000`: only a number is taken from the next arg.
        const next = argv[i + 1];
        if (inline !== undefined) values[name] = inline;
        else if (next !== undefined && /^\d+$/.test(next)) {
          values[name] = next;
          i++;
        } else values[name] = '';
      } else if (inline !== undefined) values[name] = inline;
      else {
        const next = argv[i + 1];
        if (next === undefined || looksLikeFlag(next)) throw new UsageError(`--${name} needs a value`);
        values[name] = next;
        i++;
      }
    } else if (arg.startsWith('-') && arg.length > 1) {
      const short = shortFlags[arg.slice(1)];
      if (short === undefined) throw new UsageError(`unknown flag ${flagText(arg)}`);
      values[short] = true;
    } else {
      throw new UsageError(`unexpected argument ${describeArg(arg)}`);
    }
  }
  return values;
}

const optionalPort = (name: string) =>
  z
    .string()
    .regex(/^\d*$/, `--${name} takes an optional port number`)
    .transform((v) => (v === '' ? null : Number(v)))
    .refine((n) => n === null || n <= 65535, `--${name} port must be at most 65535`)
    .optional();

const LogLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
  error: '--log-level takes fatal, error, warn, info, debug, trace or silent',
});
const intFlag = (name: string, min: number) =>
  z
    .string()
    .regex(/^\d+$/, `--${name} takes a whole number`)
    .transform(Number)
    .refine((n) => n >= min, `--${name} must be at least ${min}`);

/** nats://host:port, or a comma-separated list of them (a cluster); tls:// too. */
const NATS_URL = /^(nats|tls):\/\/[^\s,]+(,(nats|tls):\/\/[^\s,]+)*$/;
const natsUrlFlag = (name: string) => z.string().regex(NATS_URL, `--${name} takes nats://HOST:PORT (or a comma-separated list of them)`);
const streamFlag = (name: string) => z.string().regex(STREAM_NAME, `--${name} takes a name of letters, digits, - and _ (at most 64)`);
const bucketFlag = (name: string) => z.string().regex(BUCKET_NAME, `--${name} takes a name of letters, digits, - and _ (at most 64)`);
const prefixFlag = (name: string) => z.string().regex(SUBJECT_PREFIX, `--${name} takes dot-separated tokens of letters, digits, - and _`);

const CliSchema = z
  .object({
    env: z.enum(['prod', 'demo'], { error: '--env takes prod or demo' }).optional(),
    restUrl: z
      .string()
      .regex(/^https?:\/\/\S+$/, '--rest-url must be an http(s) URL')
      .optional(),
    wsUrl: z
      .string()
      .regex(/^wss?:\/\/\S+$/, '--ws-url must be a ws(s) URL')
      .optional(),
    noWs: z.boolean(),
    keyId: z.string().min(1, '--key-id is empty').optional(),
    privateKeyFile: z.string().min(1, '--private-key-file is empty').optional(),
    reconcileInterval: intFlag('reconcile-interval', 1).optional(),
    statusInterval: intFlag('status-interval', 1).optional(),
    combos: z.enum(['include', 'exclude'], { error: '--combos takes include or exclude' }).default('include'),
    json: z.boolean(),
    snapshotOut: z.string().min(1, '--snapshot-out is empty').optional(),
    logLevel: LogLevel.optional(),
    simMarkets: intFlag('sim-markets', 0).default(20_000),
    simEventsPerSec: intFlag('sim-events-per-sec', 0).default(20),
    simPort: intFlag('sim-port', 0)
      .refine((n) => n <= 65535, '--sim-port must be at most 65535')
      .optional(),
    /** undefined: not given; null: given without a port. */
    visualize: optionalPort('visualize'),
    noVisualize: z.boolean(),
    inspect: optionalPort('inspect'),
    inspectUrl: z
      .string()
      .regex(/^wss?:\/\/\S+$/, '--inspect-url must be a ws(s) URL')
      .optional(),
    metricsPort: intFlag('metrics-port', 0)
      .refine((n) => n <= 65535, '--metrics-port must be at most 65535')
      .optional(),
    stateDir: z.string().min(1, '--state-dir is empty').optional(),
    noStateDir: z.boolean(),
    publish: natsUrlFlag('publish').optional(),
    publishStream: streamFlag('publish-stream').optional(),
    publishBucket: bucketFlag('publish-bucket').optional(),
    publishPrefix: prefixFlag('publish-prefix').optional(),
    help: z.boolean(),
    version: z.boolean(),
  })
  .refine((o) => !(o.keyId === undefined) === !(o.privateKeyFile === undefined), {
    error: 'give both --key-id and --private-key-file (or KALSHI_API_KEY_ID and KALSHI_PRIVATE_KEY_PATH), or neither',
  })
  .refine((o) => o.restUrl === undefined || o.env === undefined, { error: 'give --env or --rest-url, not both' })
  .refine((o) => !(o.wsUrl !== undefined && o.noWs), { error: '--ws-url and --no-ws contradict each other' })
  .refine((o) => o.wsUrl === undefined || o.restUrl !== undefined || o.env !== undefined, {
    error: '--ws-url needs --rest-url (the simulator provides both otherwise)',
  })
  .refine((o) => !(o.visualize !== undefined && o.noVisualize), { error: '--visualize and --no-visualize contradict each other' })
  .refine((o) => !(o.inspect !== undefined && o.inspectUrl !== undefined), { error: 'give --inspect or --inspect-url, not both' })
  .refine((o) => !(o.stateDir !== undefined && o.noStateDir), { error: '--state-dir and --no-state-dir contradict each other' })
  // A stored state belongs to one exchange. The embedded simulator builds a new universe at every
  // start (other open and close times, other statuses), so a warm start on it would "catch up" to
  // a different exchange. A simulator run on its own (src/sim/main.ts) outlives the registry.
  .refine((o) => o.stateDir === undefined || o.env !== undefined || o.restUrl !== undefined, {
    error:
      '--state-dir needs a real exchange (--env or --rest-url): the embedded simulator makes a new market universe at every start; run it on its own (npx tsx src/sim/main.ts --port 8080) and give its --rest-url and --ws-url',
  })
  .refine((o) => o.publish !== undefined || (o.publishStream === undefined && o.publishBucket === undefined && o.publishPrefix === undefined), {
    error: '--publish-stream, --publish-bucket and --publish-prefix need --publish',
  });

/** What --publish and its companions give the registry's `publish` option. */
interface CliPublish {
  readonly url: string;
  readonly stream?: string;
  readonly bucket?: string;
  readonly subjectPrefix?: string;
}

/**
 * The CLI's default state directory for a Kalshi environment: `$XDG_STATE_HOME/kalshi-market-registry/ENV`
 * (XDG Base Directory: only an absolute XDG_STATE_HOME counts), else `$HOME/.local/state/…`;
 * null when neither is set. One directory per environment: a state file belongs to one exchange.
 */
export function defaultStateDir(env: 'prod' | 'demo', vars: NodeJS.ProcessEnv): string | null {
  const xdg = vars['XDG_STATE_HOME'];
  const base = xdg && path.isAbsolute(xdg) ? xdg : vars['HOME'] ? path.join(vars['HOME'], '.local', 'state') : null;
  return base === null ? null : path.join(base, 'kalshi-market-registry', env);
}

type ResolvedFlags = 'visualize' | 'inspect' | 'stateDir' | 'noStateDir' | 'publish' | 'publishStream' | 'publishBucket' | 'publishPrefix';
export type CliOptions = Omit<z.output<typeof CliSchema>, ResolvedFlags> & {
  /** The state directory (--state-dir, or the default for --env), or null: none. */
  readonly stateDir: string | null;
  /** True when stateDir is the --env default rather than a --state-dir the user gave. */
  readonly stateDirIsDefault: boolean;
  /** The NATS fan-out (--publish …), or null: none. */
  readonly publish: CliPublish | null;
  /** True when neither --env nor --rest-url was given: run against the embedded simulator. */
  readonly useSimulator: boolean;
  /** The visualizer's port (0 = any free one), or null when it is off. */
  readonly visualizePort: number | null;
  /** Whether the port was given: if not and it is taken, any free port will do. */
  readonly visualizePortExplicit: boolean;
  /** The Stately relay's port (0 = any free one), or null when --inspect was not given. */
  readonly inspectPort: number | null;
};

export function parseCli(argv: readonly string[], env: NodeJS.ProcessEnv = {}): CliOptions {
  let values: ReturnType<typeof tokenize>;
  try {
    values = tokenize(argv, FLAGS, SHORT_FLAGS);
  } catch (err) {
    throw new UsageError(`${(err as Error).message}. See --help.`);
  }
  const str = (name: FlagName): string | undefined => {
    const v = values[name];
    return typeof v === 'string' ? v : undefined;
  };
  const bool = (name: FlagName): boolean => values[name] === true;
  const parsed = CliSchema.safeParse({
    env: str('env'),
    restUrl: str('rest-url'),
    wsUrl: str('ws-url'),
    noWs: bool('no-ws'),
    // An empty environment variable counts as unset.
    keyId: str('key-id') ?? (env['KALSHI_API_KEY_ID'] || undefined),
    privateKeyFile: str('private-key-file') ?? (env['KALSHI_PRIVATE_KEY_PATH'] || undefined),
    reconcileInterval: str('reconcile-interval'),
    statusInterval: str('status-interval'),
    combos: str('combos'),
    json: bool('json'),
    snapshotOut: str('snapshot-out'),
    logLevel: str('log-level'),
    simMarkets: str('sim-markets'),
    simEventsPerSec: str('sim-events-per-sec'),
    simPort: str('sim-port'),
    visualize: str('visualize'),
    noVisualize: bool('no-visualize'),
    inspect: str('inspect'),
    inspectUrl: str('inspect-url'),
    metricsPort: str('metrics-port'),
    stateDir: str('state-dir'),
    noStateDir: bool('no-state-dir'),
    publish: str('publish'),
    publishStream: str('publish-stream'),
    publishBucket: str('publish-bucket'),
    publishPrefix: str('publish-prefix'),
    help: bool('help'),
    version: bool('version'),
  });
  if (!parsed.success) throw new UsageError(`${parsed.error.issues.map((i) => i.message).join('; ')}. See --help.`);
  const { visualize, inspect, stateDir: givenStateDir, noStateDir, publish: publishUrl, publishStream, publishBucket, publishPrefix, ...o } = parsed.data;
  const useSimulator = o.env === undefined && o.restUrl === undefined;
  // The default applies to Kalshi's own environments only: a --rest-url may name any exchange
  // (a proxy, a simulator, a recording), and one default directory for all of them would mix
  // exchanges in one state file.
  const defaultDir = noStateDir || givenStateDir !== undefined || o.env === undefined ? null : defaultStateDir(o.env, env);
  const stateDir = noStateDir ? null : (givenStateDir ?? defaultDir);
  const publish: CliPublish | null =
    publishUrl === undefined
      ? null
      : {
          url: publishUrl,
          ...(publishStream !== undefined ? { stream: publishStream } : {}),
          ...(publishBucket !== undefined ? { bucket: publishBucket } : {}),
          ...(publishPrefix !== undefined ? { subjectPrefix: publishPrefix } : {}),
        };
  const visualizePort = o.noVisualize ? null : visualize !== undefined ? (visualize ?? DEFAULT_VISUALIZER_PORT) : useSimulator ? DEFAULT_VISUALIZER_PORT : null;
  return {
    ...o,
    stateDir,
    stateDirIsDefault: defaultDir !== null,
    publish,
    useSimulator,
    visualizePort,
    visualizePortExplicit: typeof visualize === 'number',
    inspectPort: inspect === undefined ? null : (inspect ?? 0),
  };
}

export const FOLLOW_USAGE = `Usage: market-registry follow --nats URL [flags]

Follows a registry that publishes on NATS JetStream (market-registry --publish URL): builds the
same market state in this process from the KV bucket and the change stream, with no connection
to Kalshi, prints the changes, and reports how far behind it is. Stop with Ctrl-C.

  --nats nats://HOST:PORT     the NATS server (comma-separated URLs for a cluster)
  --stream NAME               stream name (default KALSHI_MARKETS; as the registry's --publish-stream)
  --bucket NAME               KV bucket name (default kalshi-markets; as --publish-bucket)
  --prefix PREFIX             subject prefix (default kalshi.markets; as --publish-prefix)
  --name NAME                 durable consumer name: started again with the same name, the follower
                              resumes after the last change it printed (no gap); without it, every
                              start follows from "now"
  --json                      NDJSON on stdout: change, synced (the same lines as market-registry --json)
  --connect-timeout MS        how long to try to reach NATS at start before giving up (default 10000)
  --log-level LEVEL           fatal|error|warn|info|debug|trace|silent (default info; warn with the live view)
  -h, --help                  show this help

Exit codes: 0 stopped (SIGINT/SIGTERM, or stdout closed), 1 unexpected error, 2 bad flag,
3 NATS unreachable within --connect-timeout, 4 the NATS server has no JetStream (start it with -js).
`;

const FOLLOW_FLAGS = {
  nats: 'string',
  stream: 'string',
  bucket: 'string',
  prefix: 'string',
  name: 'string',
  json: 'boolean',
  'connect-timeout': 'string',
  'log-level': 'string',
  help: 'boolean',
} as const satisfies Record<string, FlagKind>;
type FollowFlagName = keyof typeof FOLLOW_FLAGS;

const FollowSchema = z
  .object({
    nats: natsUrlFlag('nats').optional(),
    stream: streamFlag('stream').optional(),
    bucket: bucketFlag('bucket').optional(),
    subjectPrefix: prefixFlag('prefix').optional(),
    name: streamFlag('name').optional(),
    json: z.boolean(),
    connectTimeout: intFlag('connect-timeout', 1).default(10_000),
    logLevel: LogLevel.optional(),
    help: z.boolean(),
  })
  .refine((o) => o.help || o.nats !== undefined, { error: 'follow needs --nats nats://HOST:PORT (the server the registry publishes to)' });

/** `market-registry follow` flags, validated. `nats` is set unless `help` is. */
export type FollowCliOptions = z.output<typeof FollowSchema>;

/** Flags of `market-registry follow …` (argv after the word `follow`). Throws UsageError. */
export function parseFollowCli(argv: readonly string[]): FollowCliOptions {
  let values: Partial<Record<FollowFlagName, string | boolean>>;
  try {
    values = tokenize(argv, FOLLOW_FLAGS, { h: 'help' });
  } catch (err) {
    throw new UsageError(`follow: ${(err as Error).message}. See market-registry follow --help.`);
  }
  const str = (name: FollowFlagName): string | undefined => {
    const v = values[name];
    return typeof v === 'string' ? v : undefined;
  };
  const parsed = FollowSchema.safeParse({
    nats: str('nats'),
    stream: str('stream'),
    bucket: str('bucket'),
    subjectPrefix: str('prefix'),
    name: str('name'),
    json: values.json === true,
    connectTimeout: str('connect-timeout'),
    logLevel: str('log-level'),
    help: values.help === true,
  });
  if (!parsed.success) throw new UsageError(`follow: ${parsed.error.issues.map((i) => i.message).join('; ')}. See market-registry follow --help.`);
  return parsed.data;
}

/** What the command line asks for: the registry (the default) or the `follow` subcommand. */
export type CliCommand = { readonly command: 'run'; readonly options: CliOptions } | { readonly command: 'follow'; readonly options: FollowCliOptions };

/** argv → the command and its options; a subcommand is the first word. Throws UsageError. */
export function parseCommand(argv: readonly string[], env: NodeJS.ProcessEnv = {}): CliCommand {
  if (argv[0] === 'follow') return { command: 'follow', options: parseFollowCli(argv.slice(1)) };
  return { command: 'run', options: parseCli(argv, env) };
}
