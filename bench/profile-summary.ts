/**
 * Summarises V8 .cpuprofile files (from `npm run bench -- --profile`, bench/micro-lifecycle.ts
 * --profile, or `node --cpu-prof`): top functions by self and by inclusive time, as % of the
 * non-idle samples. Several files are added up (e.g. every run of one figure).
 *
 *   npx tsx bench/profile-summary.ts FILE.cpuprofile [MORE.cpuprofile …] [--top 30] [--filter src/]
 */
import { readFileSync } from 'node:fs';
import { parseArgsOrExit } from './lib.js';
import { profileTimes, summaryOf, type CpuProfile, type ProfileTimes } from './profile.js';

const files = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !(all[i - 1] ?? '').startsWith('--'));
const flagArgs = process.argv.slice(2).filter((a) => !files.includes(a));
const args = parseArgsOrExit(flagArgs, { top: { kind: 'number', default: 30, min: 1 }, filter: { kind: 'string', default: '' } }, 'profile-summary');
if (files.length === 0) {
  process.stderr.write('usage: profile-summary FILE.cpuprofile [MORE …] [--top N] [--filter TEXT]\n');
  process.exit(2);
}
let times: ProfileTimes | undefined;
for (const file of files) times = profileTimes(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, times);
const t = times as ProfileTimes;
const s = summaryOf(t, args.top);
const idle = t.self.get('(idle)') ?? 0;
const busy = Math.max(1, t.totalUs - idle - (t.self.get('dispatch') ?? 0));
const pct = (us: number): string => `${((us / busy) * 100).toFixed(1).padStart(5)}%`;
process.stdout.write(
  `${files.length} profile(s), sampled ${(t.totalUs / 1e6).toFixed(2)} s, busy ${(busy / 1e6).toFixed(2)} s (idle ${s.idlePct}%), GC ${s.gcPct}% of busy; percentages are of busy time\n`,
);
const show = (title: string, m: Map<string, number>): void => {
  process.stdout.write(`\n${title}\n`);
  [...m]
    .filter(([k]) => k !== '(idle)' && k !== 'dispatch' && (!args.filter || k.includes(args.filter)))
    .sort((a, b) => b[1] - a[1])
    .slice(0, args.top)
    .forEach(([k, v]) => process.stdout.write(`${pct(v)}  ${k}\n`));
};
show('self time', t.self);
show('inclusive time', t.inclusive);
