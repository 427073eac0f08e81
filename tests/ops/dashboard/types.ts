// Types the generated gen/dashboard.ts is checked against (tests/ops/dashboard):
// @grafana/schema's Dashboard, and per panel type its panel options and field
// config. Grafana's JSON writes enum members as plain strings, so Loose<T>
// turns every string enum into the union of its values; everything else,
// including required keys and the ban on unknown keys, stays as the schema says.
import type { Dashboard, DataQuery, Panel, RowPanel } from '@grafana/schema';
import type * as Stat from '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen';
import type * as TimeSeries from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';

export type Loose<T> = T extends string
  ? `${T}`
  : T extends number | boolean | null | undefined
    ? T
    : T extends Array<infer U>
      ? Array<Loose<U>>
      : T extends object
        ? { [K in keyof T]: Loose<T[K]> }
        : T;

// The Prometheus query fields the dashboard uses (the datasource plugin's
// query type is not part of @grafana/schema).
export interface PromQuery extends DataQuery {
  expr: string;
  legendFormat?: string;
  range?: boolean;
  instant?: boolean;
  editorMode?: 'code' | 'builder';
  format?: 'time_series' | 'table' | 'heatmap';
  interval?: string;
}

type Typed<Type extends string, Options, Custom> = Omit<
  Panel<Options, Custom>,
  'type' | 'options' | 'targets'
> & { type: Type; options: Options; targets: PromQuery[] };

type AnyPanel = Loose<Panel | RowPanel>;

export function timeseries(p: Loose<Typed<'timeseries', TimeSeries.Options, TimeSeries.FieldConfig>>): AnyPanel {
  return p as unknown as AnyPanel;
}
export function stat(p: Loose<Typed<'stat', Stat.Options, Record<string, never>>>): AnyPanel {
  return p as unknown as AnyPanel;
}
export function row(p: Loose<RowPanel> & { type: 'row' }): AnyPanel {
  return p as AnyPanel;
}
export type LooseDashboard = Loose<Omit<Dashboard, 'panels'>> & { panels: AnyPanel[] };
