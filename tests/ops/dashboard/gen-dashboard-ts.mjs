// Writes gen/dashboard.ts from a Grafana dashboard JSON so that tsc can check
// it against @grafana/schema (types.ts): each panel becomes a call of the
// checker for its type (timeseries(...), stat(...), row(...)), so unknown or
// missing keys are reported per panel. A panel type without a checker is an
// error: add one to types.ts first.
//   node gen-dashboard-ts.mjs <dashboard.json> <out.ts>
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const [src, out] = process.argv.slice(2);
const dash = JSON.parse(readFileSync(src, 'utf8'));
const checkers = new Set(['timeseries', 'stat', 'row']);
const lit = (v) => JSON.stringify(v, null, 2);
const panels = (dash.panels ?? []).map((p, i) => {
  if (!checkers.has(p.type)) {
    console.error(`${src}: panels[${i}] has type '${p.type}', which types.ts cannot check`);
    process.exit(2);
  }
  return `  // panels[${i}]: ${p.title ?? ''}\n  ${p.type}(${lit(p)}),`;
});
const top = Object.entries(dash)
  .filter(([k]) => k !== 'panels')
  .map(([k, v]) => `  ${JSON.stringify(k)}: ${lit(v)},`);
const ts = `// Generated from ${src} by gen-dashboard-ts.mjs; do not edit.
import { row, stat, timeseries, type LooseDashboard } from '../types';

export const dashboard: LooseDashboard = {
${top.join('\n')}
  "panels": [
${panels.join('\n')}
  ],
};
`;
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, ts);
