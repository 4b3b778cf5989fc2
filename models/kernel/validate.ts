// Validation of a kernel config: every field, and the rules an era sets (models/kernel/eras.ts).
import { checkBool, checkInt, checkNumber, checkObject, checkOneOf, ConfigError } from '../../sim/index.js';
import { EARLY_DROPS, GC_GENERATIONS, type KernelConfig } from './config.js';
import { eraModel, eraNames } from './eras.js';
import { HZ_VALUES } from './jiffies.js';

const KERNEL_KEYS = [
  'version',
  'era',
  'hz',
  'cpus',
  'adminCpu',
  'buckets',
  'max',
  'eventsSysctl',
  'retryTimeoutS',
  'retryJitter',
  'workBatch',
  'missedResend',
  'flushAttempts',
  'earlyDrop',
  'gc',
  'gcAssistClosingTcp',
  'refreshCoalesce',
  'ecacheFixedTimeCheck',
  'idScheme',
  'timeouts',
  'timerWheel',
  'latency',
  'workerCostNs',
  'gcCostNs',
  'flushCostNs',
] as const;

/** Fields a kernel config may leave out (absent: as 0; presets do not set them, so their configs stay as they were). */
export const OPTIONAL_KERNEL_KEYS = ['flushFreeCostNs', 'flushDeliverCostNs'] as const;

/** Validates a kernel config; throws a ConfigError naming the first bad field under `path`. */
export function validateKernel(cfg: unknown, path = 'kernel'): KernelConfig {
  const o = checkObject(path, cfg, [...KERNEL_KEYS, ...OPTIONAL_KERNEL_KEYS]);
  for (const k of KERNEL_KEYS) if (!(k in o)) throw new ConfigError(`${path}.${k}`, undefined, 'is required');
  const p = (k: string): string => `${path}.${k}`;
  if (typeof o.version !== 'string') throw new ConfigError(p('version'), o.version, 'must be a string');
  const era = checkOneOf(p('era'), o.era, eraNames());
  const model = eraModel(era);
  checkOneOf(p('hz'), o.hz, HZ_VALUES);
  const cpus = checkInt(p('cpus'), o.cpus, { min: 1, max: 256 });
  checkInt(p('adminCpu'), o.adminCpu, { min: 0, max: cpus - 1 });
  checkInt(p('buckets'), o.buckets, { min: 1, max: 2 ** 26 });
  checkInt(p('max'), o.max, { min: 0, max: 2 ** 31 - 1 });
  const ev = checkOneOf(p('eventsSysctl'), o.eventsSysctl, [0, 1, 2]);
  if (!model.eventsSysctlValues.includes(ev))
    throw new ConfigError(
      p('eventsSysctl'),
      ev,
      ev === 2
        ? `the value 2 (auto) exists only from 5.19 (era E4); use ${model.eventsSysctlValues.join(' or ')}`
        : `${era} (≤ 2.6.30) has no nf_conntrack_events sysctl: must be 1`,
    );
  // proc_dointvec_jiffies; 0 would make random % 0 divide by zero in the kernel.
  checkInt(p('retryTimeoutS'), o.retryTimeoutS, { min: 1, max: 86400 });
  checkBool(p('retryJitter'), o.retryJitter);
  checkInt(p('workBatch'), o.workBatch, { min: 1, max: 1024 });
  checkOneOf(p('missedResend'), o.missedResend, ['next-event', 'any-packet']);
  checkOneOf(p('flushAttempts'), o.flushAttempts, [1, 2]);
  checkOneOf(p('earlyDrop'), o.earlyDrop, EARLY_DROPS);
  const gc = checkOneOf(p('gc'), o.gc, GC_GENERATIONS);
  if (model.expiry === 'gc' && gc === 'none')
    throw new ConfigError(p('gc'), gc, `must name a gc generation: era ${era} has no conntrack timers`);
  if (model.expiry === 'timer' && gc !== 'none')
    throw new ConfigError(p('gc'), gc, `must be 'none': era ${era} expires entries with timers`);
  checkBool(p('gcAssistClosingTcp'), o.gcAssistClosingTcp);
  checkBool(p('refreshCoalesce'), o.refreshCoalesce);
  checkBool(p('ecacheFixedTimeCheck'), o.ecacheFixedTimeCheck);
  checkOneOf(p('idScheme'), o.idScheme, ['address', 'siphash']);
  validateTimeouts(o.timeouts, p('timeouts'));
  checkOneOf(p('timerWheel'), o.timerWheel, ['exact', 'wheel-4.8']);
  validateLatency(o.latency, p('latency'));
  checkInt(p('workerCostNs'), o.workerCostNs, { min: 0, max: 1e9 });
  checkInt(p('gcCostNs'), o.gcCostNs, { min: 0, max: 1e9 });
  checkInt(p('flushCostNs'), o.flushCostNs, { min: 0, max: 1e9 });
  for (const k of OPTIONAL_KERNEL_KEYS) if (o[k] !== undefined) checkInt(p(k), o[k], { min: 0, max: 1e9 });
  return cfg as KernelConfig;
}

function validateTimeouts(v: unknown, path: string): void {
  const o = checkObject(path, v, ['udpS', 'udpStreamS', 'udpStreamMinAgeS', 'udpAssuredNeedsAge', 'tcp']);
  // The kernel refuses a zero timeout for these sysctls' meaning (an entry would die at once).
  checkInt(`${path}.udpS`, o.udpS, { min: 1 });
  checkInt(`${path}.udpStreamS`, o.udpStreamS, { min: 1 });
  checkInt(`${path}.udpStreamMinAgeS`, o.udpStreamMinAgeS, { min: 0, max: 60 });
  checkBool(`${path}.udpAssuredNeedsAge`, o.udpAssuredNeedsAge);
  const tcpKeys = ['synSentS', 'synRecvS', 'establishedS', 'finWaitS', 'closeWaitS', 'lastAckS', 'timeWaitS', 'closeS'];
  const t = checkObject(`${path}.tcp`, o.tcp, tcpKeys);
  for (const k of tcpKeys) checkInt(`${path}.tcp.${k}`, t[k], { min: 1 });
}

function validateLatency(v: unknown, path: string): void {
  const kind = checkOneOf(`${path}.kind`, (v as { kind?: unknown } | null)?.kind, [
    'none',
    'constant',
    'uniform',
    'exponential',
  ]);
  if (kind === 'none') checkObject(path, v, ['kind']);
  else if (kind === 'constant')
    checkNumber(`${path}.us`, checkObject(path, v, ['kind', 'us']).us, { min: 0, max: 1e7 });
  else if (kind === 'uniform')
    checkNumber(`${path}.maxUs`, checkObject(path, v, ['kind', 'maxUs']).maxUs, { min: 0, max: 1e7 });
  else checkNumber(`${path}.meanUs`, checkObject(path, v, ['kind', 'meanUs']).meanUs, { min: 0, max: 1e7 });
}
