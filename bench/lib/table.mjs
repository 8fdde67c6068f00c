// The one table `npm run bench` prints: a row per (benchmark, metric, contender) with its median,
// the ratio ours/that contender measured in the same run, and the goal it is judged against.

/**
 * @typedef {object} Row
 * @property {string} bench      benchmark name ("1 proxy", ...)
 * @property {string} metric     what is measured ("TTFT", "tokens/s", ...)
 * @property {string} contender  who is measured ("ours", "AI SDK route", ...)
 * @property {number} value      the median (or the named percentile)
 * @property {string} unit
 * @property {number} [ratio]    ours / this contender, same metric, same run
 * @property {string} [goal]     the goal, in words, on the row it is judged on
 * @property {boolean} [met]     whether the goal is met (reported, never asserted)
 * @property {string} [note]
 */

export function formatValue(value, unit) {
  if (value === undefined || value === null) return '—'
  if (typeof value !== 'number') return String(value)
  if (!Number.isFinite(value)) return 'n/a'
  const abs = Math.abs(value)
  let digits = 0
  if (abs < 10) digits = 2
  else if (abs < 100) digits = 1
  const text = value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  })
  return unit ? `${text} ${unit}` : text
}

export function formatRatio(ratio) {
  if (ratio === undefined || ratio === null) return ''
  if (!Number.isFinite(ratio)) return 'n/a'
  return `${ratio >= 100 ? ratio.toFixed(0) : ratio >= 10 ? ratio.toFixed(1) : ratio.toFixed(2)}x`
}

function formatGoal(row) {
  if (!row.goal) return ''
  const mark = row.met === undefined ? '?' : row.met ? 'MET' : 'MISSED'
  return `${mark}: ${row.goal}`
}

/** Renders rows as a Markdown table (it reads well in a terminal and pastes into the README). */
export function renderTable(rows) {
  const header = ['Benchmark', 'Metric', 'Contender', 'Median', 'Ours / it', 'Goal']
  const body = rows.map((r) => [
    r.bench,
    r.metric,
    r.contender,
    formatValue(r.value, r.unit),
    formatRatio(r.ratio),
    [formatGoal(r), r.note ?? ''].filter(Boolean).join(' — '),
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i].length)))
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`
  return [
    line(header),
    `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`,
    ...body.map(line),
  ].join('\n')
}
