// The ecache work item shared by 3.17+ (E2–E4): a delayed work that walks the dying lists and
// re-sends DESTROYs; it is scheduled one second ahead when the first DESTROY fails and kicked
// at once when some later DESTROY gets through (nf_conntrack_ecache_work). Each era says how it
// walks its lists and how long it waits when the socket is still full.
import type { Ctx, Timer } from '../../../sim/index.js';
import { BaseRedelivery } from './redelivery.js';
import { TASK } from '../../cpu/work.js';

/** What one walk of the lists ended with (enum retry_state). */
export const DONE = 0;
export const RESTART = 1;
export const CONGESTED = 2;
export type WalkResult = typeof DONE | typeof RESTART | typeof CONGESTED;

export abstract class EcacheWorker extends BaseRedelivery {
  private workTimer!: Timer;
  /** The work is scheduled to run later (ecache_dwork_pending). */
  protected workPending = false;
  /** CPU time of the current or last run (E4: workerCostNs per redelivery). */
  protected runNs = 0;

  override init(ctx: Ctx): void {
    this.workTimer = ctx.timer({ kind: 'ecache-work' });
  }

  /** Walks the lists once. */
  protected abstract walk(): WalkResult;
  /** Delay before the next run when a listener's socket was still full, in jiffies. */
  protected abstract congestedDelayJ(): number;
  /** Bookkeeping of the pending flag after a run that reschedules in `delayJ` (-1: not at all). */
  protected abstract afterRun(delayJ: number): void;

  /** nf_conntrack_ecache_delayed_work / DESTROY_FAIL: schedule the work one second ahead if idle. */
  protected scheduleIfIdle(): void {
    const core = this.core;
    if (core.ctx.timerPending(this.workTimer)) return;
    core.ctx.addTimer(this.workTimer, core.time.atJiffy(core.time.nowJ() + core.cfg.hz));
    this.workPending = true;
  }

  /** Runs the work now (plus scheduling latency) instead of at its pending time. */
  protected kick(): void {
    this.core.ctx.modTimer(this.workTimer, this.core.ctx.now + this.core.time.latency());
  }

  /** ecache_work: one walk, then again at once (RESTART), after a delay (CONGESTED) or not. */
  override work(): void {
    const core = this.core;
    core.counters.ecache_work_runs.add();
    const attempts = core.eventCounters.destroy.attempts.value;
    const ret = this.walk();
    // On a machine the walk's CPU is the kworker's (E4: the run's own cost; before: per re-send).
    if (core.cpu)
      core.cpu.charge(
        TASK.ecache,
        this.runNs > 0
          ? this.runNs
          : (core.eventCounters.destroy.attempts.value - attempts) * core.cpu.costs.workerAttemptNs,
      );
    const delayJ = ret === CONGESTED ? this.congestedDelayJ() : ret === RESTART ? 0 : -1;
    this.afterRun(delayJ);
    // A restart runs again once this run is over (E4 runs cost workerCostNs per redelivery).
    if (delayJ === 0) core.ctx.addTimer(this.workTimer, core.ctx.now + this.runNs + core.time.latency());
    else if (delayJ > 0) core.ctx.addTimer(this.workTimer, core.time.atJiffy(core.time.nowJ() + delayJ));
  }
}
