/**
 * Admin API of the sim (`POST /_sim/control` with `{"op": "...", "args": [...]}`), so another
 * process (the benchmark, the CLI demo, a shell) can drive lifecycle operations and faults.
 */
import { z } from 'zod';
import type { SimExchange } from './server.js';
import { STRIKE_TYPES } from './store.js';

const Ticker = z.string().min(1);
const Result = z.enum(['yes', 'no', 'scalar']);
const UnixS = z.number().int().nonnegative();
const Count = z.number().int().min(0).max(1_000_000_000);

const CreateMarketInputSchema = z
  .object({
    ticker: z.string().min(1).optional(),
    eventTicker: z.string().min(1).optional(),
    seriesTicker: z.string().min(1).optional(),
    openTs: UnixS.optional(),
    closeTs: UnixS.optional(),
    strikeType: z.enum(STRIKE_TYPES).optional(),
    floorStrike: z.number().optional(),
    capStrike: z.number().nullable().optional(),
    yesSubTitle: z.string().optional(),
    priceLevelStructure: z.string().min(1).optional(),
    canCloseEarly: z.boolean().optional(),
  })
  .strict();

const CreateComboMarketInputSchema = z
  .object({
    legs: z
      .array(z.object({ marketTicker: Ticker, side: z.enum(['yes', 'no']).optional() }).strict())
      .min(1)
      .optional(),
    eventTicker: z.string().min(1).optional(),
    collectionTicker: z.string().min(1).optional(),
    openTs: UnixS.optional(),
    closeTs: UnixS.optional(),
  })
  .strict();

const MetadataUpdateSchema = z
  .object({
    yes_sub_title: z.string().optional(),
    floor_strike: z.number().optional(),
    cap_strike: z.number().nullable().optional(),
    strike_type: z.enum(STRIKE_TYPES).optional(),
  })
  .strict();

const FeeSchema = z.object({ fee_type_override: z.string().nullable(), fee_multiplier_override: z.number().nullable() }).strict();

/** Every admin op and the schema of its positional args. */
export const ADMIN_OPS = {
  createMarket: z.tuple([CreateMarketInputSchema.optional()]),
  createComboMarket: z.tuple([CreateComboMarketInputSchema.optional()]),
  deactivate: z.tuple([Ticker]),
  activate: z.tuple([Ticker]),
  updateCloseTime: z.tuple([Ticker, UnixS]),
  reopen: z.tuple([Ticker, UnixS]),
  determine: z.tuple([Ticker, Result.optional(), z.string().optional()]),
  dispute: z.tuple([Ticker]),
  amend: z.tuple([Ticker, Result.optional()]),
  settle: z.tuple([Ticker]),
  updatePriceLevelStructure: z.tuple([Ticker, z.string().min(1).optional()]),
  updateMetadata: z.tuple([Ticker, MetadataUpdateSchema.optional()]),
  feeUpdate: z.tuple([Ticker, FeeSchema.optional()]),
  randomOp: z.tuple([]),
  startRandomLifecycle: z.tuple([
    z
      .object({ eventsPerSecond: z.number().positive().max(100_000).optional(), seed: z.number().int().optional() })
      .strict()
      .optional(),
  ]),
  stopRandomLifecycle: z.tuple([]),
  rest429: z.tuple([Count]),
  rest5xx: z.tuple([Count, z.number().int().min(500).max(599).optional()]),
  maintenance: z.tuple([z.boolean(), z.string().optional()]),
  malformRecords: z.tuple([z.union([z.array(Ticker), z.number().min(0).max(1)])]),
  dropConnections: z.tuple([]),
  skipSeq: z.tuple([Count]),
  duplicateNext: z.tuple([Count]),
  sendRaw: z.tuple([z.string()]),
  wsError: z.tuple([z.union([z.literal(10), z.literal(25)]).optional()]),
  clearFaults: z.tuple([]),
  getMarket: z.tuple([Ticker]),
  statusCounts: z.tuple([]),
} as const;
export type AdminOp = keyof typeof ADMIN_OPS;

const OP_NAMES = Object.keys(ADMIN_OPS) as [AdminOp, ...AdminOp[]];

export const AdminRequestSchema = z
  .object({
    op: z.enum(OP_NAMES, { error: `op must be one of: ${OP_NAMES.join(', ')}` }),
    args: z.array(z.unknown()).default([]),
  })
  .strict();

/** Validates `args` for `op` (throws ZodError) and runs it. */
export function adminOp(sim: SimExchange, op: AdminOp, rawArgs: unknown[]): unknown {
  switch (op) {
    case 'createMarket': {
      const [input] = ADMIN_OPS.createMarket.parse(rawArgs);
      return sim.createMarket(input);
    }
    case 'createComboMarket': {
      const [input] = ADMIN_OPS.createComboMarket.parse(rawArgs);
      return sim.createComboMarket(input);
    }
    case 'deactivate':
      return sim.deactivate(...ADMIN_OPS.deactivate.parse(rawArgs));
    case 'activate':
      return sim.activate(...ADMIN_OPS.activate.parse(rawArgs));
    case 'updateCloseTime':
      return sim.updateCloseTime(...ADMIN_OPS.updateCloseTime.parse(rawArgs));
    case 'reopen':
      return sim.reopen(...ADMIN_OPS.reopen.parse(rawArgs));
    case 'determine':
      return sim.determine(...ADMIN_OPS.determine.parse(rawArgs));
    case 'dispute':
      return sim.dispute(...ADMIN_OPS.dispute.parse(rawArgs));
    case 'amend':
      return sim.amend(...ADMIN_OPS.amend.parse(rawArgs));
    case 'settle':
      return sim.settle(...ADMIN_OPS.settle.parse(rawArgs));
    case 'updatePriceLevelStructure':
      return sim.updatePriceLevelStructure(...ADMIN_OPS.updatePriceLevelStructure.parse(rawArgs));
    case 'updateMetadata':
      return sim.updateMetadata(...ADMIN_OPS.updateMetadata.parse(rawArgs));
    case 'feeUpdate':
      return sim.feeUpdate(...ADMIN_OPS.feeUpdate.parse(rawArgs));
    case 'randomOp':
      ADMIN_OPS.randomOp.parse(rawArgs);
      return sim.randomOp();
    case 'startRandomLifecycle':
      return sim.startRandomLifecycle(...ADMIN_OPS.startRandomLifecycle.parse(rawArgs));
    case 'stopRandomLifecycle':
      ADMIN_OPS.stopRandomLifecycle.parse(rawArgs);
      return sim.stopRandomLifecycle();
    case 'rest429':
      return sim.rest429(...ADMIN_OPS.rest429.parse(rawArgs));
    case 'rest5xx':
      return sim.rest5xx(...ADMIN_OPS.rest5xx.parse(rawArgs));
    case 'maintenance':
      return sim.maintenance(...ADMIN_OPS.maintenance.parse(rawArgs));
    case 'malformRecords':
      return sim.malformRecords(...ADMIN_OPS.malformRecords.parse(rawArgs));
    case 'dropConnections':
      ADMIN_OPS.dropConnections.parse(rawArgs);
      return sim.dropConnections();
    case 'skipSeq':
      return sim.skipSeq(...ADMIN_OPS.skipSeq.parse(rawArgs));
    case 'duplicateNext':
      return sim.duplicateNext(...ADMIN_OPS.duplicateNext.parse(rawArgs));
    case 'sendRaw':
      return sim.sendRaw(...ADMIN_OPS.sendRaw.parse(rawArgs));
    case 'wsError':
      return sim.wsError(...ADMIN_OPS.wsError.parse(rawArgs));
    case 'clearFaults':
      ADMIN_OPS.clearFaults.parse(rawArgs);
      return sim.clearFaults();
    case 'getMarket':
      return sim.getMarket(...ADMIN_OPS.getMarket.parse(rawArgs)) ?? null;
    case 'statusCounts':
      ADMIN_OPS.statusCounts.parse(rawArgs);
      return sim.statusCounts();
  }
}
