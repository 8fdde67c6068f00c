// Benchmark 2: reader throughput. One ~20 MB SSE body in seeded random 1–16 KiB reads, read by each
// contender, every event JSON-parsed; contenders interleaved round by round in one process.
import { jsonSchema, parseJsonEventStream } from '@ai-sdk/provider-utils'
import { createParser } from 'eventsource-parser'
import { EventSourceParserStream } from 'eventsource-parser/stream'
import { loadOurs, pick } from '../lib/ours.mjs'
import { buildSSEBody, responseOf, splitReads } from '../lib/sse-body.mjs'
import { interleave, MiB, medianOf, pairedRatio } from '../lib/stats.mjs'

function contentOf(chunk) {
  return chunk?.choices?.[0]?.delta?.content ?? ''
}

/** The floor: eventsource-parser's createParser fed by a streaming TextDecoder, JSON.parse per event. */
async function floorReader(response) {
  let events = 0
  let chars = 0
  let done = false
  const parser = createParser({
    onEvent(event) {
      if (event.data === '[DONE]') {
        done = true
        return
      }
      const chunk = JSON.parse(event.data)
      events++
      chars += contentOf(chunk).length
    },
  })
  const decoder = new TextDecoder()
  const reader = response.body.getReader()
  while (!done) {
    const { value, done: end } = await reader.read()
    if (end) break
    parser.feed(decoder.decode(value, { stream: true }))
  }
  return { events, chars }
}

async function parserStreamReader(response) {
  let events = 0
  let chars = 0
  const stream = response.body
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(new EventSourceParserStream())
  for await (const event of stream) {
    if (event.data === '[DONE]') break
    events++
    chars += contentOf(JSON.parse(event.data)).length
  }
  return { events, chars }
}

// The AI SDK's reader. A schema without a validator, so this measures its pipeline
// (TextDecoderStream → EventSourceParserStream → safeParseJSON), not zod.
const anySchema = jsonSchema({ type: 'object' })
async function aiSdkReader(response) {
  let events = 0
  let chars = 0
  for await (const part of parseJsonEventStream({ stream: response.body, schema: anySchema })) {
    if (!part.success) throw part.error
    events++
    chars += contentOf(part.value).length
  }
  return { events, chars }
}

// fetch-event-source reads `window` and `document` at call time: a minimal shim (timers and a
// visibility API that never fires) is installed only for this contender.
let fetchEventSource = null
function installBrowserShim() {
  globalThis.window ??= { setTimeout, clearTimeout, fetch: globalThis.fetch }
  globalThis.document ??= { hidden: false, addEventListener() {}, removeEventListener() {} }
}
async function fetchEventSourceReader(response) {
  installBrowserShim()
  fetchEventSource ??= (await import('@microsoft/fetch-event-source')).fetchEventSource
  let events = 0
  let chars = 0
  const controller = new AbortController()
  await fetchEventSource('http://bench.invalid/', {
    fetch: async () => response,
    openWhenHidden: true,
    signal: controller.signal,
    onmessage(message) {
      if (message.data === '[DONE]') return
      events++
      chars += contentOf(JSON.parse(message.data)).length
    },
    onerror(error) {
      throw error // never retry: a retry would re-read a consumed body
    },
  })
  return { events, chars }
}

/** The reader from the seed document: decode per read (no `stream: true`), split on '\n'. */
async function naiveReader(response) {
  let events = 0
  let chars = 0
  let corrupted = 0
  const reader = response.body.getReader()
  const decoder = new TextDecoder()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    const lines = decoder.decode(value).split('\n')
    for (const line of lines) {
      if (!line.startsWith('data: ')) continue
      const data = line.slice(6)
      if (data === '[DONE]') break
      let chunk
      try {
        chunk = JSON.parse(data)
      } catch {
        continue // a line split across reads: the event is lost
      }
      events++
      const content = contentOf(chunk)
      if (content.includes('\uFFFD')) corrupted++
      chars += content.length
    }
  }
  return { events, chars, corrupted }
}

export async function run({ quick }) {
  const missing = []
  const client = await loadOurs('client')
  const readSSE = pick(client, 'readSSE', missing)

  const targetBytes = quick ? 2 * MiB : 20 * 1000 * 1000
  const rounds = quick ? 2 : 11
  const { body, events: expectedEvents, chars: expectedChars } = buildSSEBody(targetBytes)
  const reads = splitReads(body, 1, 16 * 1024)

  const contenders = [
    { name: 'floor', label: 'floor: createParser + TextDecoder', read: floorReader },
    ...(readSSE
      ? [
          {
            name: 'ours',
            label: 'ours: readSSE',
            read: async (response) => {
              let events = 0
              let chars = 0
              for await (const event of readSSE(response)) {
                events++
                chars += contentOf(event.data).length
              }
              return { events, chars }
            },
          },
        ]
      : []),
    { name: 'stream', label: 'EventSourceParserStream', read: parserStreamReader },
    { name: 'aisdk', label: 'AI SDK parseJsonEventStream', read: aiSdkReader },
    { name: 'fes', label: 'fetch-event-source (shimmed)', read: fetchEventSourceReader },
    { name: 'naive', label: 'naive line split (seed doc)', read: naiveReader },
  ]
  const expectedData = expectedEvents // every event but [DONE] carries JSON

  // Warm-up once each (JIT), untimed.
  for (const c of contenders) await c.read(responseOf(reads))
  globalThis.gc?.()

  const samples = await interleave(contenders, rounds, async (c) => {
    const response = responseOf(reads)
    const cpu = process.cpuUsage()
    const start = performance.now()
    const result = await c.read(response)
    const ms = performance.now() - start
    const used = process.cpuUsage(cpu)
    return {
      ...result,
      ms,
      mbps: body.byteLength / 1e6 / (ms / 1000),
      cpuMs: (used.user + used.system) / 1000,
    }
  })

  const rows = []
  const bench = '2 readers'
  const ourMbps = readSSE ? medianOf(samples.get('ours'), 'mbps') : undefined
  const notes = [
    `${(body.byteLength / 1e6).toFixed(1)} MB, ${expectedEvents.toLocaleString('en-US')} events, ${reads.length.toLocaleString('en-US')} reads of 1–16 KiB (seeded), ${rounds} rounds interleaved`,
  ]
  for (const c of contenders) {
    const s = samples.get(c.name)
    const mbps = medianOf(s, 'mbps')
    const last = s[s.length - 1]
    const correct = last.events === expectedData && last.chars === expectedChars
    const row = {
      bench,
      metric: 'MB/s',
      contender: c.label,
      value: mbps,
      unit: 'MB/s',
      ratio:
        c.name === 'ours' || ourMbps === undefined
          ? undefined
          : pairedRatio(samples.get('ours'), s, (x) => x.mbps),
    }
    if (c.name === 'ours') {
      const vsFloor = pairedRatio(s, samples.get('floor'), (x) => x.mbps)
      row.goal = `≥ 0.9x floor (is ${vsFloor.toFixed(2)}x)`
      row.met = vsFloor >= 0.9
    }
    if (!correct && c.name !== 'naive') {
      row.note = `WRONG RESULT: ${last.events} events / ${last.chars} chars, expected ${expectedData} / ${expectedChars}`
    }
    rows.push(row)
    if (c.name === 'naive') {
      const dropped = expectedData - last.events
      rows.push({
        bench,
        metric: 'events lost / corrupted',
        contender: c.label,
        value: `${dropped} dropped, ${last.corrupted} corrupted (U+FFFD)`,
        unit: '',
        note: `of ${expectedData.toLocaleString('en-US')}; every other reader: 0`,
      })
    }
  }
  return { rows, notes, missing }
}
