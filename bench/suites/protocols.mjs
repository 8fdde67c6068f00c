// Benchmark 7: per-protocol throughput. One handler (createCopilotEdgeHandler), one upstream stream
// (the in-process emulator, unpaced: as fast as it is read), four clients, each speaking its own
// protocol: Chat Completions, Responses, AG-UI and the AI SDK UI message stream. The client only
// reads bytes to the end (like the proxy suite's), so the differences are each encoder's own cost
// on the one answer pipeline. The goal (issue 9) is every protocol ≥ 0.8x the Chat Completions path.
import { loadOurs } from '../lib/ours.mjs'
import { naiveRoute, oursRoute } from '../lib/routes.mjs'
import { interleave, median, pairedRatio } from '../lib/stats.mjs'
import { createUpstream } from '../lib/upstream.mjs'

const ORIGIN = 'http://bench.local/api/copilot'
const QUESTION = 'Tell me a long story.'
/** How much of a stream's end is searched for its last token. */
const TAIL_BYTES = 4096

function post(url, body) {
  return new Request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

/** One request per protocol, as that protocol's own client would send it. */
export const PROTOCOL_REQUESTS = {
  'chat-completions': () =>
    post(`${ORIGIN}/chat/completions`, {
      messages: [{ role: 'user', content: QUESTION }],
      stream: true,
    }),
  responses: () => post(`${ORIGIN}/responses`, { input: QUESTION, stream: true }),
  'ag-ui': () =>
    post(ORIGIN, {
      threadId: 'thread-bench',
      runId: `run-${Math.random().toString(36).slice(2)}`,
      messages: [{ id: 'msg-1', role: 'user', content: QUESTION }],
      tools: [],
      context: [],
      state: {},
      forwardedProps: {},
    }),
  'ui-message-stream': () =>
    post(ORIGIN, {
      id: 'chat-bench',
      trigger: 'submit-message',
      messages: [{ id: 'msg-1', role: 'user', parts: [{ type: 'text', text: QUESTION }] }],
    }),
}

const LABELS = {
  naive: 'naive pass-through (reference)',
  'chat-completions': 'ours: Chat Completions (POST …/chat/completions)',
  responses: 'ours: Responses (POST …/responses, input)',
  'ag-ui': 'ours: AG-UI (RunAgentInput)',
  'ui-message-stream': 'ours: UI message stream (useChat body)',
}

/**
 * Reads a whole response as bytes; checks that the last upstream token arrived (a protocol that
 * ended early, on an error event, would otherwise look fast).
 */
async function consume(start, lastToken) {
  const cpu = process.cpuUsage()
  const t0 = performance.now()
  const response = await start()
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${await response.text()}`)
  const reader = response.body.getReader()
  let bytes = 0
  // The last chunks, at least TAIL_BYTES of them, are decoded (cheap): the last token is near the
  // end in every protocol, though not always in the last chunk (the closing events, [DONE] of the
  // naive pass-through included, can come in a chunk of their own).
  const recent = []
  let recentBytes = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    bytes += value.byteLength
    recent.push(value)
    recentBytes += value.byteLength
    while (recentBytes - recent[0].byteLength >= TAIL_BYTES)
      recentBytes -= recent.shift().byteLength
  }
  const ms = performance.now() - t0
  const used = process.cpuUsage(cpu)
  const tail = new TextDecoder().decode(Buffer.concat(recent))
  return { ms, bytes, cpuUs: used.user + used.system, complete: tail.includes(lastToken) }
}

export async function run({ quick }) {
  const tokens = quick ? 10_000 : 200_000
  // 11 rounds: with 5, AG-UI / Chat Completions read 0.67x in one full run and 0.89x and 0.96x in
  // the two runs of this suite alone that followed (same build, same minutes).
  const rounds = quick ? 2 : 11
  const missing = []
  const upstream = await createUpstream({ tokens })
  const lastToken = `tok${tokens - 1}`
  const server = await loadOurs('.')
  const create = server.module?.createCopilotEdgeHandler
  if (typeof create !== 'function') {
    missing.push(server.missing ?? 'createCopilotEdgeHandler is not exported yet')
    return { rows: [], notes: [], missing }
  }
  const handler = oursRoute(create, upstream)
  const naive = naiveRoute(upstream)
  const contenders = [
    {
      name: 'naive',
      start: () =>
        naive(post(ORIGIN, { messages: [{ role: 'user', content: QUESTION }], stream: true })),
    },
    ...Object.entries(PROTOCOL_REQUESTS).map(([name, request]) => ({
      name,
      start: () => handler(request()),
    })),
  ]
  // Warm-up (JIT, module init) on a shorter stream of the same upstream would need another
  // emulator; one full stream each is affordable (0.3–2 s here) and warms the same code paths.
  for (const c of contenders) {
    const r = await consume(c.start, lastToken)
    if (!r.complete) missing.push(`${LABELS[c.name]}: the stream ended before ${lastToken}`)
  }
  const samples = await interleave(contenders, rounds, (c) => consume(c.start, lastToken))

  const bench = '7 protocols'
  const rows = []
  const tps = (name) => median(samples.get(name).map((s) => (tokens / s.ms) * 1000))
  const cc = samples.get('chat-completions')
  for (const c of contenders) {
    const list = samples.get(c.name)
    const incomplete = list.filter((s) => !s.complete).length
    rows.push({
      bench,
      metric: `tokens/s (${tokens.toLocaleString('en-US')} tokens, one stream)`,
      contender: LABELS[c.name],
      value: tps(c.name),
      unit: 'tok/s',
      note: incomplete > 0 ? `${incomplete} of ${list.length} streams incomplete` : undefined,
    })
  }
  for (const c of contenders) {
    const list = samples.get(c.name)
    rows.push({
      bench,
      metric: 'MB/s delivered (the protocol’s own bytes)',
      contender: LABELS[c.name],
      value: median(list.map((s) => s.bytes / 1e6 / (s.ms / 1000))),
      unit: 'MB/s',
      note: `${(median(list.map((s) => s.bytes)) / tokens).toFixed(0)} bytes per token`,
    })
  }
  for (const c of contenders) {
    rows.push({
      bench,
      metric: 'CPU/token (whole process: emulator + handler + reader)',
      contender: LABELS[c.name],
      value: median(samples.get(c.name).map((s) => s.cpuUs / tokens)),
      unit: 'µs',
    })
  }
  for (const c of contenders) {
    if (c.name === 'chat-completions') continue
    const ratio = pairedRatio(samples.get(c.name), cc, (s) => 1 / s.ms)
    const row = {
      bench,
      metric: 'tokens/s ratio to Chat Completions (paired per round)',
      contender: LABELS[c.name],
      value: ratio,
      unit: 'x',
    }
    if (c.name !== 'naive') {
      row.goal = '≥ 0.8x Chat Completions'
      row.met = ratio >= 0.8
    }
    rows.push(row)
  }
  const notes = [
    `one handler (createCopilotEdgeHandler, stream: true, cache: false) on the in-process emulator (fetchImpl, unpaced), ${tokens.toLocaleString('en-US')} tokens per stream, ${rounds} rounds interleaved after one warm-up stream each; the client reads raw bytes to the end; the ratio is the median of per-round ratios (protocol / Chat Completions)`,
  ]
  return { rows, notes, missing }
}
