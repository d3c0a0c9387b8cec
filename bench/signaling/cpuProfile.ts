// Reads a V8 .cpuprofile (node --cpu-prof) and sums self time by function and by package, to find hot spots.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** Where a script belongs: a package under node_modules, a workspace folder, or Node's own code. */
function ownerOf(url: string): string {
  if (!url) return '(native/V8)';
  if (url.startsWith('node:')) return 'node:internal';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 14).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  const ws = /\/(contracts-client|sfu|signaling|indexer)\/src\/(.*)$/.exec(url);
  return ws ? `${ws[1]}/src/${ws[2]}` : url;
}

/** A call frame as the summaries name it: function, owner and line. */
function frameName(f: ProfileNode['callFrame']): string {
  return `${f.functionName || '(anonymous)'} ${ownerOf(f.url)}:${f.lineNumber + 1}`;
}

/** Self time (ms and % of the profile) of the top functions and packages. */
export function summarizeCpuProfile(file: string, top = 25) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (deltas[i + 1] ?? deltas[i] ?? 0));
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0) || 1;
  const fns = new Map<string, number>();
  const owners = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const f = byId.get(id)?.callFrame;
    if (!f) continue;
    const key = frameName(f);
    const owner = ownerOf(f.url);
    fns.set(key, (fns.get(key) ?? 0) + us);
    owners.set(owner, (owners.get(owner) ?? 0) + us);
  }
  const rank = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: Math.round(us / 1000), percent: Math.round((us / total) * 1000) / 10 }));
  return {
    durationS: Math.round((profile.endTime - profile.startTime) / 1e5) / 10,
    sampledMs: Math.round(total / 1000),
    topFunctions: rank(fns),
    topOwners: rank(owners),
  };
}

/**
 * Stretches of ≥ `minMs` where the sampled thread never went idle (what holds the event loop, and every socket's
 * messages, that long), each with the functions taking most of its time, longest first.
 */
export function longTasks(file: string, minMs = 15, top = 12) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const nameOf = (id: number) => {
    const f = byId.get(id)?.callFrame;
    return f ? frameName(f) : '?';
  };
  const stretches: { ms: number; fns: Map<string, number> }[] = [];
  let current: { ms: number; fns: Map<string, number> } | undefined;
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i] as number;
    const us = deltas[i + 1] ?? deltas[i] ?? 0;
    const name = byId.get(id)?.callFrame.functionName;
    if (name === '(idle)' || name === '(program)') {
      if (current && current.ms >= minMs * 1000) stretches.push(current);
      current = undefined;
      continue;
    }
    current ??= { ms: 0, fns: new Map() };
    current.ms += us;
    const key = nameOf(id);
    current.fns.set(key, (current.fns.get(key) ?? 0) + us);
  }
  if (current && current.ms >= minMs * 1000) stretches.push(current);
  return {
    count: stretches.length,
    perSecond: Math.round((stretches.length / ((profile.endTime - profile.startTime) / 1e6)) * 100) / 100,
    longest: stretches
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top)
      .map((s) => ({
        ms: Math.round(s.ms / 100) / 10,
        top: [...s.fns.entries()]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 4)
          .map(([n, us]) => `${n} ${Math.round(us / 100) / 10}ms`),
      })),
  };
}
