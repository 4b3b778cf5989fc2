// How a live run learns that it runs inside a guest started by `--guest`: the host passes a
// description of the guest in NFCT_SIM_GUEST, and the run records it in scenario.json, so that
// `compare` knows its CPU figures come from an emulated machine.

/** What ran a guest measurement. */
export interface GuestInfo {
  /** The Debian package (name and version) or the image path the kernel came from. */
  readonly kernel: string;
  /** QEMU's accelerator: 'tcg' (emulated CPU, the only one that boots here) or 'kvm'. */
  readonly accel: 'tcg' | 'kvm';
  readonly cpus: number;
  readonly memoryMiB: number;
  /** `qemu-system-x86_64 --version`, first line. */
  readonly qemu: string;
}

export const GUEST_ENV = 'NFCT_SIM_GUEST';

/** The guest this process runs in, or undefined on the host. */
export function guestInfo(): GuestInfo | undefined {
  const v = process.env[GUEST_ENV];
  return v ? (JSON.parse(v) as GuestInfo) : undefined;
}

/** Whether CPU-speed figures of a run with this description mean nothing (an emulated CPU). */
export const emulated = (g: GuestInfo | undefined): boolean => g?.accel === 'tcg';
