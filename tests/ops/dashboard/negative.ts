// Proof that the dashboard check can fail (tests/ops/dashboard): each panel
// below has one mistake the checker must report; tsc fails with "Unused
// '@ts-expect-error' directive" if a mistake ever goes unnoticed.
import { stat, timeseries } from './types';

const legend = { showLegend: true, displayMode: 'list' as const, placement: 'bottom' as const, calcs: [] as string[] };
const tooltip = { mode: 'multi' as const, sort: 'desc' as const };

// An unknown option key.
// @ts-expect-error showLegnd is not an option
timeseries({ type: 'timeseries', targets: [], options: { legend: { ...legend, showLegnd: true }, tooltip } });

// A value outside an enum.
timeseries({
  type: 'timeseries',
  targets: [],
  // @ts-expect-error "lines" is not a draw style
  fieldConfig: { defaults: { custom: { drawStyle: 'lines' } }, overrides: [] },
  options: { legend, tooltip },
});

// A required option left out (textMode).
stat({
  type: 'stat',
  targets: [],
  // @ts-expect-error textMode is required
  options: {
    reduceOptions: { calcs: ['lastNotNull'] },
    orientation: 'auto',
    colorMode: 'value',
    graphMode: 'area',
    justifyMode: 'auto',
    wideLayout: true,
    showPercentChange: false,
    percentChangeColorMode: 'standard',
  },
});

// A query without its refId.
// @ts-expect-error refId is required
timeseries({ type: 'timeseries', targets: [{ expr: 'up' }], options: { legend, tooltip } });
