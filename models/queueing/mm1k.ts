// M/M/1/K station: the engine's external truth. Poisson arrivals, exponential service, room for
// K customers in the system (one in service). Closed forms below are textbook (Kleinrock, vol. 1,
// section 3.6); the test suite and the engine benchmark both use this model.
import type { Actor, Counter, Ctx, Gauge, Stream } from '../../sim/index.js';
import { checkInt, checkNumber, checkObject, Simulation, s } from '../../sim/index.js';

/** Parameters of an M/M/1/K station. */
export interface Mm1kConfig {
  readonly arrivalRateHz: number; // lambda
  readonly serviceRateHz: number; // mu
  readonly capacity: number; // K, customers in the system including the one in service
}

type StationMsg = { readonly kind: 'arrive' } | { readonly kind: 'depart' };

export function validateMm1k(cfg: unknown): Mm1kConfig {
  const o = checkObject('mm1k', cfg, ['arrivalRateHz', 'serviceRateHz', 'capacity']);
  checkNumber('mm1k.arrivalRateHz', o.arrivalRateHz, { min: 1e-9 });
  checkNumber('mm1k.serviceRateHz', o.serviceRateHz, { min: 1e-9 });
  checkInt('mm1k.capacity', o.capacity, { min: 1 });
  return cfg as Mm1kConfig;
}

/**
 * One actor that schedules its own arrivals (stream `<id>/arrivals`) and departures
 * (`<id>/service`), so each arrival and each departure is exactly one event.
 */
export function mm1kStation(cfg: Mm1kConfig, maxArrivals = Infinity): Actor<StationMsg> {
  return new Mm1kStation(cfg, maxArrivals);
}

const ARRIVE: StationMsg = { kind: 'arrive' };
const DEPART: StationMsg = { kind: 'depart' };

// A class rather than a closure: every station shares one `receive`, so the engine's call site
// stays monomorphic across simulations in one process (the benchmark runs several).
class Mm1kStation implements Actor<StationMsg> {
  private readonly meanGapNs: number;
  private readonly meanServiceNs: number;
  private inSystem = 0;
  // Streams and metric handles are looked up once: the per-event path does no Map lookups.
  private arrivals!: Stream;
  private service!: Stream;
  private arrivalCount!: Counter;
  private blocked!: Counter;
  private level!: Gauge;

  constructor(
    private readonly cfg: Mm1kConfig,
    private readonly maxArrivals: number,
  ) {
    this.meanGapNs = 1e9 / cfg.arrivalRateHz;
    this.meanServiceNs = 1e9 / cfg.serviceRateHz;
  }

  init(ctx: Ctx): void {
    this.arrivals = ctx.stream('arrivals');
    this.service = ctx.stream('service');
    this.arrivalCount = ctx.counter('mm1k.arrivals');
    this.blocked = ctx.counter('mm1k.blocked');
    this.level = ctx.gauge('mm1k.in_system');
    ctx.send(ctx.self, ARRIVE, Math.round(this.arrivals.exponential(this.meanGapNs)));
  }

  receive(msg: StationMsg, ctx: Ctx): void {
    if (msg.kind === 'arrive') {
      this.arrivalCount.add();
      if (this.arrivalCount.value < this.maxArrivals)
        ctx.send(ctx.self, ARRIVE, Math.round(this.arrivals.exponential(this.meanGapNs)));
      if (this.inSystem === this.cfg.capacity) {
        this.blocked.add();
        return;
      }
      this.inSystem++;
      this.level.set(this.inSystem, ctx.now);
      if (this.inSystem === 1) ctx.send(ctx.self, DEPART, Math.round(this.service.exponential(this.meanServiceNs)));
      return;
    }
    this.inSystem--;
    this.level.set(this.inSystem, ctx.now);
    if (this.inSystem > 0) ctx.send(ctx.self, DEPART, Math.round(this.service.exponential(this.meanServiceNs)));
  }

  snapshot(): { inSystem: number } {
    return { inSystem: this.inSystem };
  }
}

/** Closed-form blocking probability and mean number in system of M/M/1/K. */
export function mm1kTheory(cfg: Mm1kConfig): { blocking: number; meanInSystem: number } {
  const rho = cfg.arrivalRateHz / cfg.serviceRateHz;
  const k = cfg.capacity;
  if (Math.abs(rho - 1) < 1e-12) return { blocking: 1 / (k + 1), meanInSystem: k / 2 };
  const blocking = ((1 - rho) * rho ** k) / (1 - rho ** (k + 1));
  const meanInSystem = rho / (1 - rho) - ((k + 1) * rho ** (k + 1)) / (1 - rho ** (k + 1));
  return { blocking, meanInSystem };
}

/** What one replication measures. */
export interface Mm1kResult {
  readonly arrivals: number;
  readonly blocked: number;
  readonly blocking: number;
  readonly meanInSystem: number;
  readonly events: number;
  readonly fingerprint: string;
}

/** Runs one replication: warm-up then `durationS` of measurement. */
export function runMm1k(
  cfg: Mm1kConfig & { readonly warmupS: number; readonly durationS: number },
  rs: { seed: number; run: number },
): Mm1kResult {
  validateMm1k({ arrivalRateHz: cfg.arrivalRateHz, serviceRateHz: cfg.serviceRateHz, capacity: cfg.capacity });
  const sim = new Simulation({ ...rs, fingerprint: true });
  sim.spawn('mm1k/station', mm1kStation(cfg));
  sim.warmupAt(s(cfg.warmupS));
  const end = s(cfg.warmupS + cfg.durationS);
  sim.run({ until: end });
  const rec = sim.recorder;
  const arrivals = rec.counter('mm1k/station', 'mm1k.arrivals').sinceCut;
  const blocked = rec.counter('mm1k/station', 'mm1k.blocked').sinceCut;
  return {
    arrivals,
    blocked,
    blocking: arrivals > 0 ? blocked / arrivals : 0,
    meanInSystem: rec.gauge('mm1k/station', 'mm1k.in_system').mean(end),
    events: sim.eventCount,
    fingerprint: sim.fingerprint,
  };
}
