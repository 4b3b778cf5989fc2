// A machine of N CPUs with a scheduler close enough to Linux's CFS (kernel/sched/fair.c) for
// the questions of issue #13: who runs when processes and kernel work share the CPUs. Tasks ask
// for bursts of CPU time; the machine runs them on per-CPU run queues ordered by virtual runtime.
//
// Reproduced (docs/modelling-notes.md#the-machine):
// - virtual runtime: a task's CPU time scaled by NICE_0_LOAD / weight; the run queue picks the
//   smallest (`pick_next_entity`).
// - the periodic tick (1/HZ, aligned on every CPU): a task that has run for its slice
//   (max(latency / nr_running, min granularity), `sched_slice`) is preempted when another task
//   with a smaller virtual runtime waits (`check_preempt_tick`).
// - wake-up placement: a sleeper's virtual runtime is raised to at least the queue's minimum less
//   half the latency (`place_entity`, sleeper credit); it preempts the running task at once when
//   it is more than the wake-up granularity behind it (`check_preempt_wakeup`).
// - wake-up CPU: the previous CPU if idle, else the lowest-numbered idle CPU, else for a
//   synchronous wake-up (a pipe write) the waker's CPU when the waker is alone there, else the
//   previous one (`wake_affine_idle`, `select_idle_sibling`, flattened: no cache topology).
// - new-idle balancing: a CPU that runs out of work pulls the waiting task with the smallest
//   virtual runtime from the CPU with the longest queue (`newidle_balance`); at a tick a CPU
//   with waiting tasks pushes one to the least loaded CPU when that has two tasks fewer, or is
//   idle (`load_balance` by nr_running, flattened: no domains, no cache-hot check).
// Simplified: no EEVDF lag or deadlines (6.6+ picks by virtual deadline; with equal weights and
// slices the order is the same), no cgroups, no migration cost, no NUMA, no RT or deadline class.
import type { Actor, Ctx, Stream } from '../../sim/index.js';
import { checkInt, checkNumber, checkObject, ConfigError } from '../../sim/index.js';
import { DEFAULT_MACHINE_COSTS, validateCosts, type MachineCosts } from './costs.js';

export type { MachineCosts } from './costs.js';

/** The machine's shape and scheduler constants. */
export interface MachineConfig {
  readonly cpus: number;
  /** Scheduler tick rate (CONFIG_HZ). */
  readonly hz: number;
  /** sysctl_sched_latency: the period in which every runnable task runs once (6 ms). */
  readonly latencyUs: number;
  /** sysctl_sched_min_granularity: the shortest slice (0.75 ms). */
  readonly minGranularityUs: number;
  /** sysctl_sched_wakeup_granularity: how far behind a woken task must be to preempt (1 ms). */
  readonly wakeupGranularityUs: number;
}

/** Linux's defaults on a 2-CPU machine (the factor 1 + log2(cpus) = 2 applied, as `update_sysctl` does). */
export const DEFAULT_MACHINE: MachineConfig = {
  cpus: 2,
  hz: 250,
  latencyUs: 12_000,
  minGranularityUs: 1_500,
  wakeupGranularityUs: 2_000,
};

/** Validates the CPUs and scheduler constants of a machine. */
export function validateMachine(v: unknown, path = 'machine'): MachineConfig {
  const o = checkObject(path, v, ['cpus', 'hz', 'latencyUs', 'minGranularityUs', 'wakeupGranularityUs']);
  checkInt(`${path}.cpus`, o.cpus, { min: 1, max: 1024 });
  checkInt(`${path}.hz`, o.hz, { min: 1, max: 10_000 });
  checkInt(`${path}.latencyUs`, o.latencyUs, { min: 1, max: 1e7 });
  checkInt(`${path}.minGranularityUs`, o.minGranularityUs, { min: 1, max: 1e7 });
  checkInt(`${path}.wakeupGranularityUs`, o.wakeupGranularityUs, { min: 0, max: 1e7 });
  return v as MachineConfig;
}

/** A machine in a scenario: its CPUs and scheduler, the load other tenants put on it, what work costs. */
export interface MachineSetup extends MachineConfig {
  readonly background: {
    /**
     * CPU demand of other processes, in runnable tasks: its integer part are hogs that always
     * want a CPU, its fraction one process busy that share of the time (a load average of about
     * that many, on top of the scenario's own tasks).
     */
    readonly runnable: number;
    /** Mean length of the fractional process's busy periods (exponential), ms. */
    readonly burstMs: number;
  };
  readonly costs: MachineCosts;
}

/**
 * The machine `--set machine.<field>` starts from when a scenario names none: Linux's scheduler
 * defaults on 2 CPUs, no other load, the costs of costs.ts.
 */
export const DEFAULT_MACHINE_SETUP: MachineSetup = {
  ...DEFAULT_MACHINE,
  background: { runnable: 0, burstMs: 5 },
  costs: DEFAULT_MACHINE_COSTS,
};

/** Validates a scenario's machine; the first bad field is reported with its path. */
export function validateMachineSetup(v: unknown, path = 'machine'): MachineSetup {
  const o = checkObject(path, v, Object.keys(DEFAULT_MACHINE_SETUP));
  for (const k of Object.keys(DEFAULT_MACHINE_SETUP))
    if (!(k in o)) throw new ConfigError(`${path}.${k}`, undefined, 'is required');
  const { background, costs, ...cfg } = o;
  validateMachine(cfg, path);
  const b = checkObject(`${path}.background`, background, ['runnable', 'burstMs']);
  checkNumber(`${path}.background.runnable`, b.runnable, { min: 0, max: 1024 });
  checkNumber(`${path}.background.burstMs`, b.burstMs, { min: 0.001, max: 1e6 });
  validateCosts(costs, `${path}.costs`);
  return v as MachineSetup;
}

/** nice 0. */
export const NICE_0_WEIGHT = 1024;

/** A schedulable entity: a process or a kernel worker. */
export class Task {
  /** Virtual runtime, ns. */
  vruntime = 0;
  /** CPU time received, ns. */
  cpuNs = 0;
  /** Time spent runnable but not running, ns. */
  waitNs = 0;
  /** Times it was preempted while it still wanted the CPU. */
  preemptions = 0;
  /** Times it woke from sleep. */
  wakeups = 0;
  /** CPU time its current burst still needs (Infinity: a hog). */
  burstLeft = 0;
  cpu = 0;
  state: 'sleeping' | 'runnable' | 'running' = 'sleeping';
  /** When it last became runnable, started running or fell asleep, ns. */
  since = 0;
  /** Called when the current burst has had its CPU time. */
  done: ((ctx: Ctx) => void) | undefined;
  constructor(
    readonly name: string,
    readonly weight: number,
  ) {}
}

interface Cpu {
  readonly id: number;
  current: Task | undefined;
  /** Waiting tasks (small: a linear scan is cheaper than a tree here). */
  readonly queue: Task[];
  minVruntime: number;
  /** When `current` started its current stretch, and when its accounting was last brought up to date. */
  sliceStart: number;
  accounted: number;
  /** Generation of the scheduled completion event (older ones are stale). */
  gen: number;
  tickPending: boolean;
}

/** The machine's own events: a burst's completion on a CPU (stale when `gen` is old) and a CPU's tick. */
export type MachineMsg =
  | { readonly kind: 'complete'; readonly cpu: number; readonly gen: number }
  | { readonly kind: 'tick'; readonly cpu: number }
  | { readonly kind: 'busy' };

/** The machine as an actor: spawn it, then `run` tasks on it from any actor's context. */
export class Machine implements Actor<MachineMsg> {
  private readonly cpus: Cpu[];
  private readonly tickNs: number;
  private ctx!: Ctx;
  /** The task whose burst is completing (its `done` may continue it). */
  private completing: Task | undefined;
  readonly tasks: Task[] = [];

  constructor(readonly cfg: MachineConfig) {
    this.cpus = Array.from({ length: cfg.cpus }, (_, id) => ({
      id,
      current: undefined,
      queue: [],
      minVruntime: 0,
      sliceStart: 0,
      accounted: 0,
      gen: 0,
      tickPending: false,
    }));
    this.tickNs = Math.round(1e9 / cfg.hz);
  }

  /** The fractional background process: its task, share of the time busy and mean busy period. */
  private busy: { task: Task; share: number; meanNs: number; rng: Stream } | undefined;

  init(ctx: Ctx): void {
    this.ctx = ctx;
  }

  /**
   * Other tenants' load: `runnable` hogs' worth of CPU demand, the integer part as hogs, the
   * fraction as one process alternating exponential busy periods (mean `burstMs`) with idle
   * ones so that it is busy that fraction of the time when it gets the CPU.
   */
  background(runnable: number, burstMs: number): void {
    const hogs = Math.floor(runnable);
    for (let i = 0; i < hogs; i++) this.hog(`background-${i}`, i);
    const share = runnable - hogs;
    if (share <= 0) return;
    const task = this.task('background-busy', NICE_0_WEIGHT, hogs);
    this.busy = { task, share, meanNs: burstMs * 1e6, rng: this.ctx.stream('background') };
    this.ctx.send(this.ctx.self, { kind: 'busy' }, Math.round(this.busy.rng.exponential(this.idleMeanNs())));
  }

  private idleMeanNs(): number {
    const b = this.busy!;
    return (b.meanNs * (1 - b.share)) / b.share;
  }

  /** The fractional process wakes for a busy period; when it has had it, it sleeps for an idle one. */
  private busyPeriod(): void {
    const b = this.busy!;
    this.run(b.task, Math.max(1, Math.round(b.rng.exponential(b.meanNs))), (ctx) =>
      ctx.send(ctx.self, { kind: 'busy' }, Math.round(b.rng.exponential(this.idleMeanNs()))),
    );
  }

  /**
   * Adds `ns` of CPU work to `t` without a completion of its own: a sleeping task wakes for it,
   * a runnable or running one needs that much longer (kernel work a kworker or the process
   * itself does on the side, such as a redelivery walk).
   */
  charge(t: Task, ns: number, waker?: Task): void {
    if (ns <= 0) return;
    if (t.state === 'sleeping' && t !== this.completing) return this.run(t, ns, undefined, waker);
    if (t.state === 'running' && t !== this.completing) {
      const c = this.cpus[t.cpu]!;
      this.account(c);
      t.burstLeft += ns;
      return this.scheduleCompletion(c);
    }
    t.burstLeft += ns; // runnable, or continuing from its own completion
  }

  /** A new task (sleeping) of `weight` (NICE_0_WEIGHT for nice 0), first placed on `cpu`. */
  task(name: string, weight = NICE_0_WEIGHT, cpu = 0): Task {
    const t = new Task(name, weight);
    t.cpu = cpu % this.cfg.cpus;
    this.tasks.push(t);
    return t;
  }

  /** A task that always wants the CPU (background load), runnable from now. */
  hog(name: string, cpu = 0): Task {
    const t = this.task(name, NICE_0_WEIGHT, cpu);
    this.run(t, Infinity);
    return t;
  }

  /**
   * `t` (sleeping) wakes and needs `ns` of CPU; `done` runs (in the machine's context) when it
   * has had it, and `t` sleeps again unless `done` asks for more (then it keeps its CPU).
   * `waker`: a synchronous wake-up (a pipe write) by that running task: when no CPU is idle, `t`
   * is placed on the waker's CPU if the waker is alone there (`wake_affine_idle` with WF_SYNC,
   * then `select_idle_sibling`, which prefers the previous CPU and then any idle one).
   */
  run(t: Task, ns: number, done?: (ctx: Ctx) => void, waker?: Task): void {
    if (t === this.completing) {
      // Asked from its own `done`: it goes on running, with no wake-up in between (plus what
      // was charged meanwhile).
      t.burstLeft += ns;
      t.done = done;
      return;
    }
    if (t.state !== 'sleeping') throw new Error(`task ${t.name} is already ${t.state}`);
    t.burstLeft = ns;
    t.done = done;
    this.wake(t, waker);
  }

  /**
   * Gives a task that is awake (running or waiting) a new burst of `ns` and its `done`, replacing
   * what it had: a process that goes on working without sleeping in between (`hold` keeps it
   * awake with an endless burst until then).
   */
  resume(t: Task, ns: number, done?: (ctx: Ctx) => void): void {
    if (t === this.completing || t.state === 'sleeping') return this.run(t, ns, done);
    t.done = done;
    if (t.state === 'runnable') {
      t.burstLeft = ns;
      return;
    }
    const c = this.cpus[t.cpu]!;
    this.account(c);
    t.burstLeft = ns;
    this.scheduleCompletion(c);
  }

  /** The CPU running `t`, or undefined. */
  runningOn(t: Task): number | undefined {
    return this.cpus.find((c) => c.current === t)?.id;
  }

  /** Brings the accounting of every running task up to now (for reading cpuNs mid-run). */
  sync(): void {
    for (const c of this.cpus) this.account(c);
  }

  receive(msg: MachineMsg, ctx: Ctx): void {
    this.ctx = ctx;
    if (msg.kind === 'busy') return this.busyPeriod();
    const c = this.cpus[msg.cpu]!;
    if (msg.kind === 'tick') {
      c.tickPending = false;
      this.tick(c);
      return;
    }
    if (msg.gen !== c.gen || c.current === undefined) return;
    this.account(c);
    const t = c.current;
    t.burstLeft = 0;
    const done = t.done;
    t.done = undefined;
    this.completing = t;
    done?.(ctx);
    this.completing = undefined;
    if (c.current !== t) {
      // Preempted from its own completion by a task it woke: it waits with what it still needs,
      // or, needing nothing, goes to sleep.
      if (t.burstLeft <= 0) {
        c.queue.splice(c.queue.indexOf(t), 1);
        this.sleep(t);
      }
      return;
    }
    // Continued: the same stretch, a new completion.
    if (t.burstLeft > 0) return this.scheduleCompletion(c);
    c.current = undefined;
    this.sleep(t);
    this.dispatch(c);
  }

  /** The running task's completion after what its burst still needs (none for an endless one); earlier ones go stale. */
  private scheduleCompletion(c: Cpu): void {
    c.gen++;
    const left = c.current!.burstLeft;
    if (left !== Infinity)
      this.ctx.send(this.ctx.self, { kind: 'complete', cpu: c.id, gen: c.gen }, Math.max(0, Math.round(left)));
  }

  private sleep(t: Task): void {
    t.state = 'sleeping';
    t.since = this.ctx.now;
  }

  snapshot(): unknown {
    return this.cpus.map((c) => ({ current: c.current?.name, queued: c.queue.map((t) => t.name) }));
  }

  private slice(c: Cpu): number {
    const n = c.queue.length + (c.current ? 1 : 0);
    return Math.max((this.cfg.latencyUs * 1e3) / Math.max(1, n), this.cfg.minGranularityUs * 1e3);
  }

  /** Charges the running task for the time since it was last charged. */
  private account(c: Cpu): void {
    const t = c.current;
    const now = this.ctx.now;
    if (t !== undefined) {
      const d = now - c.accounted;
      t.cpuNs += d;
      t.vruntime += (d * NICE_0_WEIGHT) / t.weight;
      t.burstLeft -= d;
    }
    c.accounted = now;
    this.updateMin(c);
  }

  private updateMin(c: Cpu): void {
    let m = c.current?.vruntime ?? Infinity;
    for (const q of c.queue) m = Math.min(m, q.vruntime);
    if (m !== Infinity) c.minVruntime = Math.max(c.minVruntime, m); // monotonic, as min_vruntime
  }

  private wake(t: Task, waker?: Task): void {
    t.wakeups++;
    const c = this.pickCpu(t, waker);
    t.cpu = c.id;
    this.account(c);
    // Sleeper credit: at most half a latency behind the queue.
    t.vruntime = Math.max(t.vruntime, c.minVruntime - (this.cfg.latencyUs * 1e3) / 2);
    this.enqueue(c, t);
    if (c.current === undefined) return this.dispatch(c);
    if (c.current.vruntime - t.vruntime > this.cfg.wakeupGranularityUs * 1e3) this.preempt(c);
  }

  private pickCpu(t: Task, waker?: Task): Cpu {
    const idle = (c: Cpu): boolean => c.current === undefined && c.queue.length === 0;
    const prev = this.cpus[t.cpu]!;
    if (idle(prev)) return prev;
    const free = this.cpus.find(idle);
    if (free !== undefined) return free;
    // No idle CPU: a synchronous wake-up goes to the waker's CPU when the waker is alone there.
    if (waker?.state === 'running') {
      const w = this.cpus[waker.cpu]!;
      if (w.current === waker && w.queue.length === 0) return w;
    }
    return prev;
  }

  private enqueue(c: Cpu, t: Task): void {
    t.state = 'runnable';
    t.since = this.ctx.now;
    c.queue.push(t);
  }

  /** Takes the waiting task with the smallest virtual runtime off `c`'s queue. */
  private take(c: Cpu): Task | undefined {
    let best = -1;
    for (let i = 0; i < c.queue.length; i++) if (best < 0 || c.queue[i]!.vruntime < c.queue[best]!.vruntime) best = i;
    return best < 0 ? undefined : c.queue.splice(best, 1)[0];
  }

  /** The running task goes back to the queue and the best one runs. */
  private preempt(c: Cpu): void {
    this.account(c);
    const t = c.current!;
    t.preemptions++;
    c.current = undefined;
    this.enqueue(c, t);
    this.dispatch(c);
  }

  /** Runs the best waiting task on idle `c`, pulling one from the longest queue if it has none. */
  private dispatch(c: Cpu): void {
    let t = this.take(c);
    if (t === undefined) {
      const busiest = this.cpus.reduce((a, b) => (b.queue.length > a.queue.length ? b : a));
      if (busiest.queue.length > 0) {
        this.account(busiest);
        t = this.take(busiest)!;
        // Migration keeps the task's lag relative to the queues' minima.
        t.vruntime += c.minVruntime - busiest.minVruntime;
        t.cpu = c.id;
      }
    }
    if (t === undefined) return;
    t.waitNs += this.ctx.now - t.since;
    t.state = 'running';
    t.since = this.ctx.now;
    c.current = t;
    c.sliceStart = this.ctx.now;
    c.accounted = this.ctx.now;
    this.scheduleCompletion(c);
    this.armTick(c);
  }

  /** The next aligned tick of a busy CPU. */
  private armTick(c: Cpu): void {
    if (c.tickPending) return;
    c.tickPending = true;
    const next = (Math.floor(this.ctx.now / this.tickNs) + 1) * this.tickNs;
    this.ctx.send(this.ctx.self, { kind: 'tick', cpu: c.id }, next - this.ctx.now);
  }

  private tick(c: Cpu): void {
    if (c.current === undefined) return; // idle: no tick (NO_HZ)
    this.account(c);
    // The load balancer, flattened: a waiting task moves to the least loaded CPU when that has
    // at least two tasks fewer (an idle CPU: one fewer), so 3 vs 1 becomes 2 and 2, 2 vs 1 stays.
    const load = (o: Cpu): number => o.queue.length + (o.current ? 1 : 0);
    const least = this.cpus.reduce((a, b) => (load(b) < load(a) ? b : a));
    const gap = load(least) === 0 ? 1 : 2;
    if (least !== c && c.queue.length > 0 && load(c) - load(least) >= gap) {
      this.account(least);
      const t = this.take(c)!;
      t.vruntime += least.minVruntime - c.minVruntime;
      t.cpu = least.id;
      this.enqueue(least, t);
      if (least.current === undefined) this.dispatch(least);
    }
    const ran = this.ctx.now - c.sliceStart;
    const next = c.queue.reduce<Task | undefined>(
      (a, b) => (a === undefined || b.vruntime < a.vruntime ? b : a),
      undefined,
    );
    if (next !== undefined && ran >= this.slice(c) && next.vruntime < c.current.vruntime) this.preempt(c);
    if (c.current !== undefined) this.armTick(c);
  }
}
