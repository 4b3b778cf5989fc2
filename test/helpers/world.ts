// Helpers for tests that wire the kernel, netlink and listeners together.
import { produce, type Draft } from 'immer';
import type { KernelMsg } from '../../models/kernel/types.js';
import {
  DEFAULT_CONNTRACK_E,
  DEFAULT_CONNTRACKD,
  DEFAULT_READER,
  type ListenerConfig,
  type ReaderConfig,
} from '../../models/listeners/config.js';
import type { LogEntry } from '../../models/listeners/types.js';
import { preset } from '../../models/presets.js';
import { buildWorld, parseWorld, type World, type WorldConfig } from '../../models/world.js';
import { KERNEL_ID } from '../../models/names.js';

export function world(
  presetName: string,
  listeners: ListenerConfig[],
  edit: (d: Draft<WorldConfig>) => void = () => {},
  seed = 1,
): World & { at(t: number, m: KernelMsg): void } {
  const p = preset(presetName);
  const cfg = produce({ kernel: p.kernel, netlink: p.netlink, listeners } as WorldConfig, edit);
  const w = buildWorld(parseWorld(cfg), { seed, run: 0 });
  return { ...w, at: (t, m) => void w.sim.send(KERNEL_ID, m, t - w.sim.now) };
}

export const reader = (costUs: number, wakeUs = 0): ReaderConfig => ({
  ...DEFAULT_READER,
  costUs: { kind: 'constant', us: costUs },
  wakeupUs: { kind: 'constant', us: wakeUs },
});

export const conntrackE = (o: Partial<typeof DEFAULT_CONNTRACK_E> = {}): ListenerConfig => ({
  ...DEFAULT_CONNTRACK_E,
  ...o,
});
export const conntrackd = (o: Partial<typeof DEFAULT_CONNTRACKD> = {}): ListenerConfig => ({
  ...DEFAULT_CONNTRACKD,
  ...o,
});
export const raw = (o: {
  rcvbufBytes: number;
  broadcastError?: boolean;
  noEnobufs?: boolean;
  reader?: ReaderConfig;
  groups?: (1 | 2 | 3)[];
}): ListenerConfig => ({
  kind: 'raw',
  groups: o.groups ?? [1, 2, 3],
  broadcastError: o.broadcastError ?? true,
  noEnobufs: o.noEnobufs ?? false,
  rcvbufBytes: o.rcvbufBytes,
  force: false,
  reader: o.reader ?? reader(20),
});

/** Messages of a log, as [time, type, tuple]. */
export const msgs = (
  log: readonly LogEntry[],
  type?: string,
): { t: number; type: string; tuple: number; serial: number }[] =>
  log.flatMap((l) =>
    l.kind === 'msg' && (type === undefined || l.ev.type === type)
      ? [{ t: l.t, type: l.ev.type, tuple: l.ev.tuple, serial: l.ev.serial }]
      : [],
  );
