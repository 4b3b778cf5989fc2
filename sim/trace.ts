/**
 * Event traces and fingerprints.
 *
 * The fingerprint is OMNeT++'s 32-bit rotate-xor hash over integer ingredients only (event
 * time, target actor index, message kind), so float formatting can never move it. Tests pin it
 * for reference scenarios: a changed fingerprint means a changed trajectory.
 * @module
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import type { ActorId, Message } from './actor.js';
import type { SimTime } from './time.js';

/** 32-bit FNV-1a of a string (used to turn message kinds into integers). */
export function fnv1a(str: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < str.length; i++) {
    h ^= str.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** OMNeT++-style fingerprint: `h = rotl(h, 1) ^ x` for each 32-bit ingredient. */
export class Fingerprint {
  private h = 0;
  private readonly kinds = new Map<string, number>();

  /** Folds one integer (only its low 32 bits count). */
  add(x: number): void {
    const h = this.h;
    this.h = (((h << 1) | (h >>> 31)) ^ x) >>> 0;
  }

  /** Folds the ingredients of one event: time (both 32-bit halves), actor index, kind. */
  addEvent(time: SimTime, actor: number, kind: string): void {
    this.add(time % 0x1_0000_0000);
    this.add(Math.floor(time / 0x1_0000_0000));
    this.add(actor);
    let k = this.kinds.get(kind);
    if (k === undefined) {
      k = fnv1a(kind);
      this.kinds.set(kind, k);
    }
    this.add(k);
  }

  /** The fingerprint as 8 lowercase hex digits. */
  get hex(): string {
    return this.h.toString(16).padStart(8, '0');
  }
}

/** Receives every dispatched event of a traced run. */
export interface TraceSink {
  /** One event: its time, sender (`undefined` from outside), receiver and message. */
  event(time: SimTime, from: ActorId | undefined, to: ActorId, msg: Message): void;
  /** Flushes and finishes the trace. */
  close(): void;
}

/** A trace kept in memory (for tests and small runs). */
export class MemoryTrace implements TraceSink {
  readonly records: { t: SimTime; from: ActorId | undefined; to: ActorId; msg: Message }[] = [];
  event(t: SimTime, from: ActorId | undefined, to: ActorId, msg: Message): void {
    this.records.push({ t, from, to, msg });
  }
  close(): void {}
}

/**
 * Streams a trace as JSON Lines (`{"t":ns,"from":id,"to":id,"msg":{...}}`) into `path.tmp`,
 * renamed to `path` on close, so an interrupted run never leaves a half-written trace.
 */
export class JsonlTrace implements TraceSink {
  private readonly fd: number;
  private buf: string[] = [];
  private bytes = 0;
  private readonly tmp: string;

  constructor(readonly path: string) {
    this.tmp = `${path}.tmp`;
    this.fd = openSync(this.tmp, 'w');
  }

  event(t: SimTime, from: ActorId | undefined, to: ActorId, msg: Message): void {
    const line = JSON.stringify({ t, from: from ?? null, to, msg }) + '\n';
    this.buf.push(line);
    this.bytes += line.length;
    if (this.bytes > 1 << 20) this.flush();
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
    renameSync(this.tmp, this.path);
  }

  /** Closes and deletes the partial file (for aborted runs). */
  abort(): void {
    closeSync(this.fd);
    rmSync(this.tmp, { force: true });
  }

  private flush(): void {
    if (this.buf.length === 0) return;
    writeSync(this.fd, this.buf.join(''));
    this.buf = [];
    this.bytes = 0;
  }
}
