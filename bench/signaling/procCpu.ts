// CPU time of processes from /proc (Linux): utime + stime of a process (all its threads), read without touching it.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (usually 100). */
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const PAGE_SIZE = Number(execFileSync('getconf', ['PAGESIZE']).toString().trim()) || 4096;

/** One process as /proc/<pid>/stat describes it. */
export interface ProcStat {
  pid: number;
  /** Executable name (at most 15 characters). */
  comm: string;
  ppid: number;
  pgrp: number;
  /** User + system CPU seconds since the process started. */
  cpuSeconds: number;
}

/** The stat line of one process, or undefined when it has exited. */
export function procStat(pid: number): ProcStat | undefined {
  let line: string;
  try {
    line = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm is in parentheses and may contain spaces or parentheses: the fields start after the last ')'.
  const close = line.lastIndexOf(')');
  const comm = line.slice(line.indexOf('(') + 1, close);
  const f = line
    .slice(close + 2)
    .trim()
    .split(' ');
  // After comm: state(0) ppid(1) pgrp(2) … utime(11) stime(12).
  return {
    pid,
    comm,
    ppid: Number(f[1]),
    pgrp: Number(f[2]),
    cpuSeconds: (Number(f[11]) + Number(f[12])) / CLK_TCK,
  };
}

/** Every live process of a process group (e.g. a service started detached, with its workers and children). */
export function processGroup(pgrp: number): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    const s = procStat(Number(name));
    if (s?.pgrp === pgrp) out.push(s);
  }
  return out;
}

/** Resident memory of a process in MB, or undefined when it has exited. */
export function rssMegabytes(pid: number): number | undefined {
  try {
    const pages = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
    return Math.round((pages * PAGE_SIZE) / 2 ** 20);
  } catch {
    return undefined;
  }
}

/** CPU seconds the whole machine has spent busy (every core; /proc/stat's first line less idle and iowait). */
export function machineBusySeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  // user nice system idle iowait irq softirq steal (guest time is counted in user already).
  const busy = f.slice(0, 8).reduce((a, x, i) => (i === 3 || i === 4 ? a : a + x), 0);
  return busy / CLK_TCK;
}
