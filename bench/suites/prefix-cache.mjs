// Benchmark 9: prefix caching (issue 13 §2). A replayed multi-turn conversation set, deterministic
// (seeded): 20 conversations × 6 turns, each turn the whole conversation so far (system prompt,
// every question, every answer the handler gave) plus a new question, asked turn by turn across
// all conversations (turn 1 of every conversation, then turn 2, ...) as concurrent users would.
// Through the handler (in-process) to the Workers AI emulator, which reuses a prompt prefix per
// `x-session-affinity` the way Workers AI does (whole 16-token blocks; a request without the header
// may land on any instance, so the emulator counts it cold). The figure: the share of all prompt
// tokens the upstream served from its prefix cache, read from each answer's own usage bytes and
// checked against getMetrics(). Then what the affinity costs per request: the hash, beside SHA-256
// of the same input. (The handler with the affinity on vs off was tried too: on this loaded machine
// its paired difference stayed within an A/A control's, so it is not reported.)
import { fileURLToPath } from 'node:url'
import { sha256 } from '@noble/hashes/sha2'
import { bytesToHex } from '@noble/hashes/utils'
import { build } from 'esbuild'
import { loadOurs } from '../lib/ours.mjs'
import { mulberry32, randomInt } from '../lib/prng.mjs'
import { median } from '../lib/stats.mjs'

const CONVERSATIONS = 20
const TURNS = 6
const ORIGIN = 'http://bench.local/api/copilot'
const SILENT = { debug() {}, info() {}, warn() {}, error() {} }
const encoder = new TextEncoder()

const WORDS = (
  'cache prefix token model answer question worker edge stream request header session ' +
  'latency block prompt conversation turn replica route hash value usage figure share ' +
  'server client browser protocol event chunk reader writer buffer byte frame message ' +
  'system assistant user tool call result error retry fallback timeout abort signal'
).split(' ')

function words(random, min, max) {
  const out = []
  for (let i = randomInt(random, min, max); i > 0; i--) out.push(WORDS[randomInt(random, 0, 47)])
  return out.join(' ')
}

/** Three system prompts (~80 words each), shared by the conversations as apps share theirs. */
function systemPrompts(random) {
  return [0, 1, 2].map((i) => `You are assistant ${i}. ${words(random, 70, 90)}.`)
}

/** Per conversation: its system prompt and its six questions. */
function conversationSet(seed) {
  const random = mulberry32(seed)
  const systems = systemPrompts(random)
  return Array.from({ length: CONVERSATIONS }, (_, c) => ({
    id: `conversation-${c}`,
    system: systems[c % systems.length],
    questions: Array.from({ length: TURNS }, () => `${words(random, 8, 20)}?`),
  }))
}

/** The emulator's answer: 30-60 words, a pure function of the question (the same on every run). */
function replyTo({ messages }) {
  const last = messages.at(-1)?.content ?? ''
  let seed = 0
  for (let i = 0; i < last.length; i++) seed = (seed * 31 + last.charCodeAt(i)) >>> 0
  return `${words(mulberry32(seed), 30, 60)}.`
}

/** The JSON `data:` payloads of an SSE body, `[DONE]` left out. */
function events(text) {
  return text
    .split('\n\n')
    .map((frame) => frame.split('\n').find((line) => line.startsWith('data: ')))
    .filter((line) => line !== undefined && line !== 'data: [DONE]')
    .map((line) => JSON.parse(line.slice(6)))
}

function post(url, body) {
  return new Request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

/**
 * How each mode asks one turn and reads the answer's text and usage (prompt and cached prompt
 * tokens) from that protocol's own bytes.
 */
const MODES = [
  {
    name: 'ours: affinity from the conversation opening (Chat Completions, no id)',
    config: {},
    async ask(handler, _conversation, messages) {
      const response = await handler(
        post(`${ORIGIN}/chat/completions`, {
          messages,
          stream: true,
          stream_options: { include_usage: true },
        }),
      )
      let text = ''
      let usage
      for (const event of events(await response.text())) {
        text += event.choices?.[0]?.delta?.content ?? ''
        if (event.usage) usage = event.usage
      }
      return {
        text,
        prompt: usage.prompt_tokens,
        cached: usage.prompt_tokens_details?.cached_tokens ?? 0,
      }
    },
  },
  {
    name: 'ours: affinity from the client’s id (AG-UI threadId)',
    config: {},
    async ask(handler, conversation, messages, turn) {
      const response = await handler(
        post(ORIGIN, {
          threadId: conversation.id,
          runId: `run-${turn}`,
          messages: messages.map((m, i) => ({ id: `m${i}`, ...m })),
        }),
      )
      let text = ''
      let usage
      for (const event of events(await response.text())) {
        if (event.type === 'TEXT_MESSAGE_CONTENT') text += event.delta
        if (event.type === 'RUN_FINISHED') usage = event.usage[0]
      }
      return { text, prompt: usage.inputTokens, cached: usage.cachedInputTokens ?? 0 }
    },
  },
  {
    name: 'without affinity (sessionAffinity: false)',
    config: { sessionAffinity: false },
    ask: (...args) => MODES[0].ask(...args),
  },
]

/** Replays the set through one handler; every turn's prompt and cached tokens, by turn. */
async function replay(server, testing, mode, set, prefixCache) {
  const emulator = testing.createWorkersAIEmulator({ reply: replyTo, prefixCache })
  const edge = new server.CopilotEdge({
    apiKey: emulator.apiToken,
    accountId: emulator.accountId,
    baseURL: emulator.baseURL,
    fetch: emulator.fetchImpl,
    cache: false,
    logger: SILENT,
    ...mode.config,
  })
  const handler = edge.createNextHandler()
  const histories = set.map((c) => [{ role: 'system', content: c.system }])
  const byTurn = Array.from({ length: TURNS }, () => ({ prompt: 0, cached: 0 }))
  for (let turn = 0; turn < TURNS; turn++) {
    for (let c = 0; c < set.length; c++) {
      const history = histories[c]
      history.push({ role: 'user', content: set[c].questions[turn] })
      const answer = await mode.ask(handler, set[c], history, turn)
      if (answer.text === '') throw new Error(`${mode.name}: turn ${turn + 1} got no text`)
      history.push({ role: 'assistant', content: answer.text })
      byTurn[turn].prompt += answer.prompt
      byTurn[turn].cached += answer.cached
    }
  }
  const prompt = byTurn.reduce((n, t) => n + t.prompt, 0)
  const cached = byTurn.reduce((n, t) => n + t.cached, 0)
  // The usage bytes, what the emulator recorded and getMetrics() must tell one story.
  const recorded = emulator.requests.reduce((n, r) => n + r.cachedTokens, 0)
  const metrics = edge.getMetrics()
  if (
    recorded !== cached ||
    metrics.cachedPromptTokens !== cached ||
    metrics.promptTokens !== prompt
  )
    throw new Error(
      `${mode.name}: usage says ${cached}/${prompt}, emulator ${recorded}, getMetrics() ${metrics.cachedPromptTokens}/${metrics.promptTokens}`,
    )
  const affinities = new Set(emulator.requests.map((r) => r.headers['x-session-affinity']))
  return { prompt, cached, byTurn, affinities: affinities.has(undefined) ? 0 : affinities.size }
}

/** `sessionAffinity` itself, bundled from the source (it is internal, not exported). */
async function loadSessionAffinity() {
  const entry = fileURLToPath(
    new URL('../../src/server/engine/session-affinity.ts', import.meta.url),
  )
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    write: false,
    logLevel: 'silent',
  })
  const code = result.outputFiles[0].text
  return (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`))
    .sessionAffinity
}

/** Median µs of one `fn()` call over `rounds` blocks of `n` calls. */
function microseconds(fn, n, rounds) {
  const perCall = []
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now()
    for (let i = 0; i < n; i++) fn()
    perCall.push(((performance.now() - t0) * 1000) / n)
  }
  return median(perCall)
}

export async function run({ quick }) {
  const [server, testing] = await Promise.all([loadOurs('.'), loadOurs('testing')])
  const missing = [server, testing].filter((m) => m.missing).map((m) => m.missing)
  if (missing.length > 0) return { rows: [], notes: [], missing }
  const bench = '9 prefix cache'
  const rows = []
  const notes = []

  const set = conversationSet(13)
  // Two models of Workers AI: the emulator's default (a cache per affinity value; a request
  // without one is cold), and a pool of 8 instances, each caching whatever reaches it (affinity
  // picks the instance; without it, a random one).
  const models = [
    { label: 'a cache per affinity value', prefixCache: {}, modes: MODES },
    { label: 'a pool of 8 instances', prefixCache: { instances: 8 }, modes: [MODES[0], MODES[2]] },
  ]
  for (const model of models) {
    const metric = `prompt tokens from the prefix cache, ${CONVERSATIONS} conversations × ${TURNS} turns, ${model.label}`
    for (const mode of model.modes) {
      const result = await replay(server.module, testing.module, mode, set, model.prefixCache)
      const later = result.byTurn.slice(1)
      const laterPrompt = later.reduce((n, t) => n + t.prompt, 0)
      const laterCached = later.reduce((n, t) => n + t.cached, 0)
      rows.push({
        bench,
        metric,
        contender: mode.name,
        value: (100 * result.cached) / result.prompt,
        unit: '%',
        note: `${result.cached.toLocaleString('en-US')} of ${result.prompt.toLocaleString('en-US')} tokens; turns 2–${TURNS}: ${((100 * laterCached) / laterPrompt).toFixed(1)}%; ${result.affinities} distinct x-session-affinity values`,
      })
    }
  }

  // The cost: the hash of a turn-6 conversation's opening (~100 words), of one with a 4 KB system
  // prompt, and of a client's id.
  const sessionAffinity = await loadSessionAffinity()
  const turn6 = [{ role: 'system', content: set[0].system }]
  for (let t = 0; t < TURNS; t++) {
    turn6.push({ role: 'user', content: set[0].questions[t] })
    turn6.push({ role: 'assistant', content: 'An answer of a few words.' })
  }
  turn6.push({ role: 'user', content: 'And then?' })
  const big = [{ role: 'system', content: 'x'.repeat(4096) }, ...turn6.slice(1)]
  const n = quick ? 2_000 : 20_000
  const rounds = quick ? 5 : 9
  for (const [label, messages] of [
    ['opening of ~100 words', turn6],
    ['4 KB system prompt', big],
    ['client id (threadId)', null],
  ]) {
    const request = messages ? { messages } : { conversation: 'ag-ui:thread-1', messages: turn6 }
    // The same input through SHA-256 (noble, what the response cache key uses), side by side.
    const opening = messages ? messages.slice(0, 2).flatMap((m) => [m.role, m.content]) : []
    const text = messages ? JSON.stringify(opening) : 'conversation ag-ui:thread-1'
    const sha = () => bytesToHex(sha256(encoder.encode(text)))
    const ours = [],
      theirs = []
    for (let r = 0; r < rounds; r++) {
      ours.push(microseconds(() => sessionAffinity(request), n, 1))
      theirs.push(microseconds(sha, n, 1))
    }
    rows.push({
      bench,
      metric: 'sessionAffinity() per request (the hash)',
      contender: `ours: ${label}`,
      value: median(ours),
      unit: 'µs',
      ratio: median(ours.map((v, i) => v / theirs[i])),
    })
    rows.push({
      bench,
      metric: 'sessionAffinity() per request (the hash)',
      contender: `SHA-256 (noble) of the same: ${label}`,
      value: median(theirs),
      unit: 'µs',
    })
  }
  notes.push(
    'Prefix cache: the emulator models Workers AI (whole 16-token blocks, the block holding the last token recomputed): by default a cache per x-session-affinity value (no header: cold); with instances: 8, a cache per instance, the header choosing the instance and a seeded random draw without it. The shares are what our affinity makes reusable under that model, not a measurement of Cloudflare.',
  )
  return { rows, notes, missing: [] }
}
