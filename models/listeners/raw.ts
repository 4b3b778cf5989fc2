// The live runner's own listener (experiments/live/listener.py): it sets SO_RCVBUF(FORCE),
// NETLINK_BROADCAST_ERROR and NETLINK_NO_ENOBUFS as told and reads until the socket is empty.
import type { RawListenerConfig } from './config.js';
import { PlainProgram, type SocketOptions } from './program.js';

export class RawProgram extends PlainProgram {
  readonly options: SocketOptions;
  constructor(cfg: RawListenerConfig) {
    super();
    this.options = {
      rcvbuf:
        cfg.rcvbufBytes > 0
          ? { kind: cfg.force ? 'SO_RCVBUFFORCE' : 'SO_RCVBUF', bytes: cfg.rcvbufBytes }
          : { kind: 'default' },
      broadcastError: cfg.broadcastError,
      noEnobufs: cfg.noEnobufs,
    };
  }
}
