// Kernel-side netlink parameters that differ between kernel versions (docs/kernel-facts.md#netlink-admission,
// #rcvbuf). The kernel preset selects them.
import { checkInt, checkObject, checkOneOf, ConfigError } from '../../sim/index.js';

/** skb truesize charged per ctnetlink event message, by message type and protocol (bytes). */
export interface Truesize {
  readonly newTcp: number;
  readonly newUdp: number;
  readonly updateTcp: number;
  readonly updateUdp: number;
  readonly destroyTcp: number;
  readonly destroyUdp: number;
}

/** The kernel's netlink side: buffer limits (rmem_default/rmem_max), skb truesize, admission rule. */
export interface NetlinkKernelConfig {
  /** Broadcast admission: A = check before charging (≤ 6.15), B = charge then check with the empty-queue exemption (6.16+). */
  readonly admission: 'A' | 'B';
  /** SOCK_MIN_RCVBUF: 256 in 2.6.31, 2304 in 6.x (raised somewhere in 3.x, UNVERIFIED when). */
  readonly sockMinRcvbuf: number;
  /** net.core.rmem_default. */
  readonly rmemDefault: number;
  /** net.core.rmem_max. */
  readonly rmemMax: number;
  readonly truesize: Truesize;
}

const TRUESIZE_KEYS = ['newTcp', 'newUdp', 'updateTcp', 'updateUdp', 'destroyTcp', 'destroyUdp'] as const;

export function validateNetlinkKernel(v: unknown, path = 'netlink'): NetlinkKernelConfig {
  const o = checkObject(path, v, ['admission', 'sockMinRcvbuf', 'rmemDefault', 'rmemMax', 'truesize']);
  for (const k of ['admission', 'sockMinRcvbuf', 'rmemDefault', 'rmemMax', 'truesize']) {
    if (!(k in o)) throw new ConfigError(`${path}.${k}`, undefined, 'is required');
  }
  checkOneOf(`${path}.admission`, o.admission, ['A', 'B']);
  checkInt(`${path}.sockMinRcvbuf`, o.sockMinRcvbuf, { min: 1, max: 2 ** 30 });
  checkInt(`${path}.rmemDefault`, o.rmemDefault, { min: 1, max: 2 ** 30 });
  checkInt(`${path}.rmemMax`, o.rmemMax, { min: 1, max: 2 ** 30 });
  const t = checkObject(`${path}.truesize`, o.truesize, TRUESIZE_KEYS);
  for (const k of TRUESIZE_KEYS) checkInt(`${path}.truesize.${k}`, t[k], { min: 1, max: 65536 });
  return v as NetlinkKernelConfig;
}
