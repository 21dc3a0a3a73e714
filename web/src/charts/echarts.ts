/**
 * Apache ECharts, only what the report pages draw (funnel, bars, lines; canvas). Imported with
 * import() by ReportChart.vue, so it is its own chunk, loaded by the report pages alone: the
 * sign-in page and the daily screens never download it.
 */
import { BarChart, FunnelChart, LineChart } from "echarts/charts";
import { DatasetComponent, GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import { init, use } from "echarts/core";
import { CanvasRenderer } from "echarts/renderers";

use([BarChart, FunnelChart, LineChart, DatasetComponent, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

export { init };
export type { EChartsCoreOption as ChartOption } from "echarts/core";
