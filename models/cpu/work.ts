// Kernel and administrator work on the machine: the tasks that stand for `conntrack -F`, `-D`
// and `-L`, the ecache redelivery kworker and the gc kworker, created when first needed. The
// kernel model decides what happens; this says how long it occupies a CPU and whom it delays.
import type { Ctx } from '../../sim/index.js';
import type { Machine, MachineCosts, Task } from './machine.js';

/** The kernel's tasks on a machine (one instance per kernel). */
export class KernelWork {
  private readonly tasks = new Map<string, Task>();

  constructor(
    readonly machine: Machine,
    readonly costs: MachineCosts,
  ) {}

  /** The task called `name` (made on first use). */
  task(name: string): Task {
    let t = this.tasks.get(name);
    if (t === undefined) {
      t = this.machine.task(name);
      this.tasks.set(name, t);
    }
    return t;
  }

  /**
   * `name` needs `ns` of CPU before `then` runs (in the machine's context): work whose next step
   * waits for the CPU, such as the next entry of a flush. Between steps the task stays awake
   * (its next step is asked for at the same instant), so a long job runs as one stretch, as the
   * kernel loop it stands for does; {@link release} ends it.
   */
  step(name: string, ns: number, then: (ctx: Ctx) => void): void {
    const t = this.task(name);
    this.machine.resume(t, ns, (ctx) => {
      this.machine.run(t, Infinity); // awake until the next step or the release
      then(ctx);
    });
  }

  /** The job of `name` is over: its task sleeps. */
  release(name: string): void {
    const t = this.tasks.get(name);
    if (t !== undefined && t.state !== 'sleeping') this.machine.resume(t, 0);
  }

  /**
   * `name` spends `ns` of CPU on work the model has already done at this instant (a worker's
   * walk, a gc pass): the kernel's timing stays as it is; the CPU is taken from everyone else.
   */
  charge(name: string, ns: number): void {
    this.machine.charge(this.task(name), ns);
  }
}

/** Task names of the kernel's work. */
export const TASK = {
  flush: 'conntrack -F',
  delete: 'conntrack -D',
  list: 'conntrack -L',
  ecache: 'kworker/ecache',
  gc: 'kworker/gc',
} as const;
