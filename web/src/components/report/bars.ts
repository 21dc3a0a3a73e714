/** An ECharts option for grouped bars: one bar per series at each category. */
export function bars(categories: string[], series: { name: string; data: (number | undefined)[] }[], left = 40) {
  return {
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left, right: 16, top: 36, bottom: 40 },
    xAxis: { type: "category", data: categories },
    yAxis: { type: "value", minInterval: left > 40 ? 0 : 1 },
    series: series.map((s) => ({ type: "bar", name: s.name, data: s.data.map((v) => v ?? 0) })),
  };
}
