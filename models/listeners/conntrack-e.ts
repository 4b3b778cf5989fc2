// `conntrack -E` (conntrack-tools src/conntrack.c; docs/kernel-facts.md#conntrack-e): never sets
// BROADCAST_ERROR or NO_ENOBUFS; `-b` lands on the event socket up to 1.4.6 and on the command
// socket from 1.4.7; on ENOBUFS it prints its warning and exits up to 1.4.5, goes on from 1.4.6.
import type { Ctx } from '../../sim/index.js';
import type { ConntrackEConfig } from './config.js';
import { PlainProgram, type ReaderHandle, type SocketOptions } from './program.js';

export class ConntrackEProgram extends PlainProgram {
  readonly options: SocketOptions;
  constructor(private readonly cfg: ConntrackEConfig) {
    super();
    const onEventSocket = cfg.version === '1.4.5' || cfg.version === '1.4.6';
    this.options = {
      rcvbuf:
        cfg.bufferSize > 0 && onEventSocket ? { kind: 'SO_RCVBUFFORCE', bytes: cfg.bufferSize } : { kind: 'default' },
      broadcastError: false,
      noEnobufs: false,
    };
  }

  /** "WARNING: We have hit ENOBUFS! We are losing events." ≤ 1.4.5 then exits. */
  override onEnobufs(ctx: Ctx, reader: ReaderHandle): void {
    if (this.cfg.version === '1.4.5') reader.exit(ctx);
  }
}
