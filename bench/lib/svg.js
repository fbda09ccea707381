// Hand-written SVG bar chart: one row per tool, one bar per workload (median), min–max whiskers,
// logarithmic time axis by default (launch times span three orders of magnitude) or a linear one from 0,
// value labels at the bar ends.
const palette = ['#2f6db5', '#e08a1e', '#3a9a5b', '#b53a6d']

const esc = s => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

function fmtMs(ms) {
  if (ms >= 100) return ms.toFixed(0)
  if (ms >= 10) return ms.toFixed(1)
  return ms.toFixed(2)
}

function niceTicks(lo, hi) {
  const ticks = []
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e
      if (v >= lo * 0.999 && v <= hi * 1.001) ticks.push(v)
    }
  }
  return ticks
}

function niceMax(v) {
  if (!(v > 0)) return 1
  const e = 10 ** Math.floor(Math.log10(v))
  return [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].map(m => m * e).find(m => m >= v * 1.02) ?? 10 * e
}

function linearTicks(hi) {
  const raw = hi / 5
  const e = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 2.5, 5, 10].map(m => m * e).find(m => m >= raw)
  const ticks = []
  for (let t = 0; t <= hi * 1.0001; t += step) ticks.push(Number(t.toPrecision(6)))
  return ticks
}

/**
 * @param {{title: string, subtitle: string, workloads: {name: string, label: string}[], rows: {label: string, id: string, stats: Record<string, {median: number, min: number, max: number, note?: string}>}[], reference?: {ms: number, label: string}, footer?: string, scale?: 'log'|'linear', unit?: string, axisLabel?: string}} chart
 * With scale 'linear', values are in `unit` (default ms) and `stats[...].note` replaces the "× contain" label.
 */
export function barChartSvg(chart) {
  const labelW = 270
  const plotW = 560
  const valueW = 175
  const width = labelW + plotW + valueW
  const top = 106
  const barH = 13
  const barGap = 4
  const rowH = chart.workloads.length * (barH + barGap) + 14
  const plotH = chart.rows.length * rowH
  const height = top + plotH + 78

  const all = chart.rows.flatMap(r => Object.values(r.stats)).filter(Boolean)
  const linear = chart.scale === 'linear'
  const unit = chart.unit ?? 'ms'
  const lo = linear ? 0 : 10 ** Math.floor(Math.log10(Math.min(...all.map(s => s.min))))
  const hi = linear ? niceMax(Math.max(...all.map(s => s.max), chart.reference?.ms ?? 0)) : 10 ** Math.ceil(Math.log10(Math.max(...all.map(s => s.max))))
  const x = linear
    ? v => labelW + (Math.max(0, v) / hi) * plotW
    : ms => labelW + ((Math.log10(Math.max(ms, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotW

  const out = []
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="13">`,
  )
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`)
  out.push(`<text x="16" y="28" font-size="19" font-weight="bold" fill="#111">${esc(chart.title)}</text>`)
  out.push(`<text x="16" y="50" font-size="12" fill="#444">${esc(chart.subtitle)}</text>`)
  // legend
  let lx = labelW
  chart.workloads.forEach((w, i) => {
    out.push(`<rect x="${lx}" y="62" width="14" height="12" fill="${palette[i]}"/>`)
    out.push(`<text x="${lx + 20}" y="73" fill="#222">${esc(w.label)}</text>`)
    lx += 30 + w.label.length * 8
  })
  out.push(
    `<line x1="${lx}" y1="68" x2="${lx + 22}" y2="68" stroke="#333" stroke-width="1.3"/><line x1="${lx}" y1="63" x2="${lx}" y2="73" stroke="#333"/><line x1="${lx + 22}" y1="63" x2="${lx + 22}" y2="73" stroke="#333"/>`,
  )
  out.push(`<text x="${lx + 28}" y="73" fill="#222">min–max</text>`)

  chart.rows.forEach((row, ri) => {
    if (ri % 2 === 1) out.push(`<rect x="0" y="${top + ri * rowH}" width="${width}" height="${rowH}" fill="#f3f6fa"/>`)
  })
  // grid + ticks
  for (const t of linear ? linearTicks(hi) : niceTicks(lo, hi)) {
    const tx = x(t).toFixed(1)
    const major = linear || Math.abs(Math.log10(t) - Math.round(Math.log10(t))) < 1e-9
    out.push(`<line x1="${tx}" y1="${top - 6}" x2="${tx}" y2="${top + plotH}" stroke="${major ? '#c8c8c8' : '#ececec'}"/>`)
    out.push(`<text x="${tx}" y="${top + plotH + 18}" text-anchor="middle" font-size="11" fill="#444">${t >= 1 ? t : t.toString()}</text>`)
  }
  out.push(
    `<text x="${labelW + plotW / 2}" y="${top + plotH + 38}" text-anchor="middle" font-size="12" fill="#333">${esc(chart.axisLabel ?? 'milliseconds from spawn to exit (log scale; bar = median)')}</text>`,
  )

  if (chart.reference) {
    const rx = x(chart.reference.ms).toFixed(1)
    out.push(`<line x1="${rx}" y1="${top - 10}" x2="${rx}" y2="${top + plotH}" stroke="#c0392b" stroke-dasharray="5,4" stroke-width="1.4"/>`)
    out.push(`<text x="${rx}" y="${top - 14}" text-anchor="middle" font-size="11" fill="#c0392b">${esc(chart.reference.label)}</text>`)
  }

  chart.rows.forEach((row, ri) => {
    const y0 = top + ri * rowH + 7
    const mid = y0 + (chart.workloads.length * (barH + barGap) - barGap) / 2
    out.push(
      `<text x="${labelW - 10}" y="${mid + 4.5}" text-anchor="end" fill="#111"${row.id === 'contain' ? ' font-weight="bold"' : ''}>${esc(row.label)}</text>`,
    )
    chart.workloads.forEach((w, wi) => {
      const s = row.stats[w.name]
      const by = y0 + wi * (barH + barGap)
      if (!s) {
        out.push(`<text x="${labelW + 4}" y="${by + barH - 2}" font-size="11" fill="#888">not measured</text>`)
        return
      }
      const bx = x(s.median)
      out.push(
        `<rect x="${labelW}" y="${by}" width="${Math.max(1, bx - labelW).toFixed(1)}" height="${barH}" fill="${palette[wi]}" fill-opacity="0.85"><title>${esc(`${row.label} — ${w.label}: median ${fmtMs(s.median)} ${unit}, min ${fmtMs(s.min)}, max ${fmtMs(s.max)}`)}</title></rect>`,
      )
      const cy = by + barH / 2
      const [x1, x2] = [x(s.min), x(s.max)]
      out.push(`<line x1="${x1.toFixed(1)}" y1="${cy}" x2="${x2.toFixed(1)}" y2="${cy}" stroke="#222" stroke-width="1.2"/>`)
      out.push(`<line x1="${x1.toFixed(1)}" y1="${cy - 4}" x2="${x1.toFixed(1)}" y2="${cy + 4}" stroke="#222" stroke-width="1.2"/>`)
      out.push(`<line x1="${x2.toFixed(1)}" y1="${cy - 4}" x2="${x2.toFixed(1)}" y2="${cy + 4}" stroke="#222" stroke-width="1.2"/>`)
      out.push(
        `<text x="${labelW + plotW + 8}" y="${by + barH - 2}" font-size="11.5" fill="${palette[wi]}">${fmtMs(s.median)} ${unit}${s.note ? `  (${esc(s.note)})` : s.xContain !== undefined && s.xContain !== null ? `  (${s.xContain.toFixed(2)}× contain)` : ''}</text>`,
      )
    })
  })
  out.push(`<line x1="${labelW}" y1="${top - 6}" x2="${labelW}" y2="${top + plotH}" stroke="#555"/>`)
  if (chart.footer) out.push(`<text x="16" y="${height - 12}" font-size="11" fill="#555">${esc(chart.footer)}</text>`)
  out.push('</svg>')
  return `${out.join('\n')}\n`
}

/**
 * Latency over time: one panel per case, stacked, sharing a logarithmic latency axis; in each panel one
 * colour per tool (contain and docker side by side), p99 as a solid line, max dashed, p50 dotted, and a
 * red bar under the axis for every second with failed requests (its count beside it). Seconds are counted
 * from the action's start (0, dashed vertical line). A second without any answer breaks the lines.
 * @param {{title: string, subtitle: string, panels: {label: string, series: {id: string, label: string, points: {x: number, p50: number|null, p99: number|null, max: number|null, failed: number}[]}[]}[], unit?: string, footer?: string}} chart
 */
export function timeSeriesSvg(chart) {
  const left = 70
  const plotW = 760
  const right = 230
  const width = left + plotW + right
  const top = 70
  const panelH = 170
  const failH = 14
  const panelGap = 52
  const panels = chart.panels.filter(p => p.series.length)
  const height = top + panels.length * (panelH + failH + panelGap) + 30
  const unit = chart.unit ?? 'ms'
  const points = panels.flatMap(p => p.series.flatMap(s => s.points))
  const values = points.flatMap(pt => [pt.p50, pt.p99, pt.max]).filter(v => typeof v === 'number' && v > 0)
  const lo = 10 ** Math.floor(Math.log10(Math.max(0.1, Math.min(...values, 1))))
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...values, 10)))
  const xs = points.map(pt => pt.x)
  const [x0, x1] = [Math.min(...xs, 0), Math.max(...xs, 1) + 1]
  const X = s => left + ((s - x0) / (x1 - x0)) * plotW
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
  ]
  out.push(`<text x="16" y="26" font-size="17" font-weight="bold" fill="#111">${esc(chart.title)}</text>`)
  out.push(`<text x="16" y="46" font-size="11.5" fill="#555">${esc(chart.subtitle)}</text>`)
  panels.forEach((panel, pi) => {
    const py = top + pi * (panelH + failH + panelGap)
    const Y = v => py + panelH - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * panelH
    out.push(`<text x="${left}" y="${py - 10}" font-size="13" font-weight="bold" fill="#111">${esc(panel.label)}</text>`)
    for (const t of niceTicks(lo, hi)) {
      const major = Math.abs(Math.log10(t) - Math.round(Math.log10(t))) < 1e-9
      out.push(`<line x1="${left}" y1="${Y(t).toFixed(1)}" x2="${left + plotW}" y2="${Y(t).toFixed(1)}" stroke="${major ? '#d0d0d0' : '#efefef'}"/>`)
      if (major) out.push(`<text x="${left - 6}" y="${(Y(t) + 4).toFixed(1)}" text-anchor="end" font-size="10.5" fill="#444">${t} ${unit}</text>`)
    }
    for (let s = Math.ceil(x0); s <= x1; s += Math.max(1, Math.round((x1 - x0) / 15))) {
      out.push(`<text x="${X(s).toFixed(1)}" y="${py + panelH + failH + 16}" text-anchor="middle" font-size="10.5" fill="#444">${s}</text>`)
    }
    out.push(`<line x1="${X(0).toFixed(1)}" y1="${py}" x2="${X(0).toFixed(1)}" y2="${py + panelH + failH}" stroke="#c0392b" stroke-dasharray="5,4"/>`)
    out.push(`<text x="${X(0).toFixed(1)}" y="${py + 12}" dx="4" font-size="10.5" fill="#c0392b">action</text>`)
    out.push(`<rect x="${left}" y="${py}" width="${plotW}" height="${panelH}" fill="none" stroke="#888"/>`)
    panel.series.forEach((series, si) => {
      const color = palette[si % palette.length]
      const mid = pt => X(pt.x + 0.5).toFixed(1)
      for (const [key, dash, widthPx] of [
        ['p99', '', 1.8],
        ['max', '5,3', 1.1],
        ['p50', '1,3', 1.4],
      ]) {
        let d = ''
        let pen = 'M'
        for (const pt of series.points) {
          const v = pt[key]
          if (!(typeof v === 'number' && v > 0)) {
            pen = 'M'
            continue
          }
          d += `${pen}${mid(pt)},${Y(Math.min(hi, Math.max(lo, v))).toFixed(1)} `
          pen = 'L'
        }
        if (d)
          out.push(
            `<path d="${d.trim()}" fill="none" stroke="${color}" stroke-width="${widthPx}"${dash ? ` stroke-dasharray="${dash}"` : ''}><title>${esc(`${series.label}: ${key}`)}</title></path>`,
          )
      }
      // Failed requests: a red bar per second under the plot, one band per tool.
      const band = failH / panel.series.length
      for (const pt of series.points.filter(p => p.failed > 0)) {
        out.push(
          `<rect x="${X(pt.x).toFixed(1)}" y="${(py + panelH + si * band).toFixed(1)}" width="${Math.max(1, X(pt.x + 1) - X(pt.x) - 1).toFixed(1)}" height="${band.toFixed(1)}" fill="#c0392b" fill-opacity="${si === 0 ? 0.85 : 0.5}"><title>${esc(`${series.label}, second ${pt.x}: ${pt.failed} failed`)}</title></rect>`,
        )
      }
      const failed = series.points.reduce((sum, p) => sum + p.failed, 0)
      const ly = py + 16 + si * 40
      out.push(`<line x1="${left + plotW + 12}" y1="${ly - 4}" x2="${left + plotW + 36}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/>`)
      out.push(`<text x="${left + plotW + 42}" y="${ly}" font-size="11.5" fill="${color}">${esc(series.label)}</text>`)
      out.push(
        `<text x="${left + plotW + 42}" y="${ly + 15}" font-size="10.5" fill="${failed ? '#c0392b' : '#3a9a5b'}">${failed} failed request${failed === 1 ? '' : 's'}</text>`,
      )
    })
  })
  const ly = height - 40
  out.push(
    `<text x="${left}" y="${ly}" font-size="11" fill="#333">seconds from the action's start · latency of answered requests per second: solid p99, dashed max, dotted p50 (log scale) · red under a panel: seconds with failed requests</text>`,
  )
  if (chart.footer) out.push(`<text x="16" y="${height - 12}" font-size="11" fill="#555">${esc(chart.footer)}</text>`)
  out.push('</svg>')
  return `${out.join('\n')}\n`
}
