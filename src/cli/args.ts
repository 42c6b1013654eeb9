/**
 * Command-line flags of `market-registry`, parsed with node:util and validated with zod. Pure:
 * takes argv and env, returns options or a typed error with the message to print.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';

export const USAGE = `Usage: market-registry [flags]

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

Output:
  --json                      NDJSON on stdout: change, synced, exchange_status, rejected; logs on stderr
  --snapshot-out FILE         on stop, write every known market as one JSON Market per line
  --log-level LEVEL           fatal|error|warn|info|debug|trace|silent (default info; warn with the live view)

Visualizer and inspection:
  --visualize [PORT]          serve the statechart visualizer page on http://127.0.0.1:PORT and print its
                              URL on stderr (default port 8420, or any free one if taken; 0 = any free
                              port). On by default with the simulator, off against a real exchange
  --no-visualize              do not start the visualizer
  --inspect [PORT]            send XState inspection events to the Stately inspector: starts a relay
                              on 127.0.0.1:PORT (default: any free port) and prints how to connect
  --inspect-url URL           send them to an existing Stately inspector server (ws://…) instead

Simulator (only without --env/--rest-url):
  --sim-markets N             markets in the embedded simulator (default 20000)
  --sim-events-per-sec N      random lifecycle events per second (default 20; 0 = none)
  --sim-port PORT             port for the simulator (default: any free port)

  -h, --help                  show this help
`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The visualizer's port when --visualize gives none (any free port if it is taken). */
export const DEFAULT_VISUALIZER_PORT = 8420;

/** Flags whose value is optional: `--visualize`, `--visualize 9000`, `--visualize=9000`. */
const OPTIONAL_VALUE_FLAGS = new Set(['--visualize', '--inspect']);

/** Rewrites optional-value flags to `--flag=VALUE` (`--flag=` when none), for parseArgs. */
function normalizeOptionalValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (OPTIONAL_VALUE_FLAGS.has(arg)) {
      const next = argv[i + 1];
      if (next !== undefined && /^\d+$/.test(next)) {
        out.push(`${arg}=${next}`);
        i++;
      } else out.push(`${arg}=`);
    } else out.push(arg);
  }
  return out;
}

const optionalPort = (name: string) =>
  z
    .string()
    .regex(/^\d*$/, `--${name} takes an optional port number`)
    .transform((v) => (v === '' ? null : Number(v)))
    .refine((n) => n === null || n <= 65535, `--${name} port must be at most 65535`)
    .optional();

const LogLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
const intFlag = (name: string, min: number) =>
  z
    .string()
    .regex(/^\d+$/, `--${name} takes a whole number`)
    .transform(Number)
    .refine((n) => n >= min, `--${name} must be at least ${min}`);

const CliSchema = z
  .object({
    env: z.enum(['prod', 'demo'], { message: '--env takes prod or demo' }).optional(),
    restUrl: z.string().regex(/^https?:\/\/\S+$/, '--rest-url must be an http(s) URL').optional(),
    wsUrl: z.string().regex(/^wss?:\/\/\S+$/, '--ws-url must be a ws(s) URL').optional(),
    noWs: z.boolean(),
    keyId: z.string().min(1, '--key-id is empty').optional(),
    privateKeyFile: z.string().min(1, '--private-key-file is empty').optional(),
    reconcileInterval: intFlag('reconcile-interval', 1).optional(),
    statusInterval: intFlag('status-interval', 1).optional(),
    json: z.boolean(),
    snapshotOut: z.string().min(1, '--snapshot-out is empty').optional(),
    logLevel: LogLevel.optional(),
    simMarkets: intFlag('sim-markets', 0).default(20_000),
    simEventsPerSec: intFlag('sim-events-per-sec', 0).default(20),
    simPort: intFlag('sim-port', 0).optional(),
    /** undefined: not given; null: given without a port. */
    visualize: optionalPort('visualize'),
    noVisualize: z.boolean(),
    inspect: optionalPort('inspect'),
    inspectUrl: z.string().regex(/^wss?:\/\/\S+$/, '--inspect-url must be a ws(s) URL').optional(),
    help: z.boolean(),
  })
  .refine((o) => !(o.keyId === undefined) === !(o.privateKeyFile === undefined), {
    message: 'give both --key-id and --private-key-file (or KALSHI_API_KEY_ID and KALSHI_PRIVATE_KEY_PATH), or neither',
  })
  .refine((o) => o.restUrl === undefined || o.env === undefined, { message: 'give --env or --rest-url, not both' })
  .refine((o) => !(o.wsUrl !== undefined && o.noWs), { message: '--ws-url and --no-ws contradict each other' })
  .refine((o) => o.wsUrl === undefined || o.restUrl !== undefined || o.env !== undefined, {
    message: '--ws-url needs --rest-url (the simulator provides both otherwise)',
  })
  .refine((o) => !(o.visualize !== undefined && o.noVisualize), { message: '--visualize and --no-visualize contradict each other' })
  .refine((o) => !(o.inspect !== undefined && o.inspectUrl !== undefined), { message: 'give --inspect or --inspect-url, not both' });

export type CliOptions = Omit<z.output<typeof CliSchema>, 'visualize' | 'inspect'> & {
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
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  const args = normalizeOptionalValues(argv);
  try {
    ({ values, positionals } = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        env: { type: 'string' },
        'rest-url': { type: 'string' },
        'ws-url': { type: 'string' },
        'no-ws': { type: 'boolean', default: false },
        'key-id': { type: 'string' },
        'private-key-file': { type: 'string' },
        'reconcile-interval': { type: 'string' },
        'status-interval': { type: 'string' },
        json: { type: 'boolean', default: false },
        'snapshot-out': { type: 'string' },
        'log-level': { type: 'string' },
        'sim-markets': { type: 'string' },
        'sim-events-per-sec': { type: 'string' },
        'sim-port': { type: 'string' },
        visualize: { type: 'string' },
        'no-visualize': { type: 'boolean', default: false },
        inspect: { type: 'string' },
        'inspect-url': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    throw new UsageError(`${(err as Error).message}. See --help.`);
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}". See --help.`);
  const parsed = CliSchema.safeParse({
    env: values['env'],
    restUrl: values['rest-url'],
    wsUrl: values['ws-url'],
    noWs: values['no-ws'],
    // An empty environment variable counts as unset.
    keyId: values['key-id'] ?? (env['KALSHI_API_KEY_ID'] || undefined),
    privateKeyFile: values['private-key-file'] ?? (env['KALSHI_PRIVATE_KEY_PATH'] || undefined),
    reconcileInterval: values['reconcile-interval'],
    statusInterval: values['status-interval'],
    json: values['json'],
    snapshotOut: values['snapshot-out'],
    logLevel: values['log-level'],
    simMarkets: values['sim-markets'],
    simEventsPerSec: values['sim-events-per-sec'],
    simPort: values['sim-port'],
    visualize: values['visualize'],
    noVisualize: values['no-visualize'],
    inspect: values['inspect'],
    inspectUrl: values['inspect-url'],
    help: values['help'],
  });
  if (!parsed.success) throw new UsageError(`${parsed.error.issues.map((i) => i.message).join('; ')}. See --help.`);
  const { visualize, inspect, ...o } = parsed.data;
  const useSimulator = o.env === undefined && o.restUrl === undefined;
  const visualizePort = o.noVisualize ? null : visualize !== undefined ? (visualize ?? DEFAULT_VISUALIZER_PORT) : useSimulator ? DEFAULT_VISUALIZER_PORT : null;
  return {
    ...o,
    useSimulator,
    visualizePort,
    visualizePortExplicit: typeof visualize === 'number',
    inspectPort: inspect === undefined ? null : (inspect ?? 0),
  };
}
