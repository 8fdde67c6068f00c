// Benchmark 3: hook cost. N chunks through each hook in jsdom (real React 19 scheduler, no act),
// delivered all at once (one read) and one chunk per event-loop turn (setImmediate). Counts
// commits with a React Profiler and the wall time from send to the commit showing the whole text.
// Then the parallel case (issue 13): S hooks in one page, each streaming N chunks at once.
import { installBrowserFrames } from '../lib/browser-frames.mjs'
import { installDom } from '../lib/dom.mjs'

installDom()
installBrowserFrames()
const React = await import('react')
const { createRoot } = await import('react-dom/client')
const { loadBefore, loadOurs } = await import('../lib/ours.mjs')
const { chunkEvent } = await import('../lib/sse-body.mjs')
const { interleave, median, pairedRatio } = await import('../lib/stats.mjs')
const { aiSdkMajor } = await import('../lib/ai-sdk-major.mjs')
// BENCH_AI_SDK=7: @ai-sdk/react 4 over ai 7 (labelled "AI SDK 7"); otherwise @ai-sdk/react 3 over ai 6.
const { useChat, useCompletion, DefaultChatTransport } =
  aiSdkMajor === 7
    ? await import('../lib/use-chat-4.mjs')
    : { ...(await import('@ai-sdk/react')), ...(await import('ai')) }
const aiSdkLabel = aiSdkMajor === 7 ? 'AI SDK 7' : 'AI SDK'

const h = React.createElement
const encoder = new TextEncoder()
const piece = (i) => ` t${i % 10}`

function oursEvents(n) {
  const first = {
    id: 'chatcmpl-bench',
    object: 'chat.completion.chunk',
    created: 1767225600,
    model: '@cf/meta/llama-3.1-8b-instruct',
    choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
  }
  const events = [`id: 0\ndata: ${JSON.stringify(first)}\n\n`]
  for (let i = 0; i < n; i++) events.push(chunkEvent(i + 1, piece(i)))
  events.push(chunkEvent(n + 1, '', 'stop'), 'data: [DONE]\n\n')
  return events.map((e) => encoder.encode(e))
}

function aiSdkEvents(n) {
  const events = [{ type: 'start' }, { type: 'start-step' }, { type: 'text-start', id: 't' }]
  for (let i = 0; i < n; i++) events.push({ type: 'text-delta', id: 't', delta: piece(i) })
  events.push({ type: 'text-end', id: 't' }, { type: 'finish-step' }, { type: 'finish' })
  return [...events.map((e) => `data: ${JSON.stringify(e)}\n\n`), 'data: [DONE]\n\n'].map((e) =>
    encoder.encode(e),
  )
}

function concat(chunks) {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0))
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.byteLength
  }
  return out
}

const turn = () => new Promise((resolve) => setImmediate(resolve))

/** A fetch that answers with `events`: in one read, or one event per event-loop turn. */
function fakeFetch(events, delivery, headers) {
  const whole = delivery === 'all at once' ? concat(events) : null
  return async () => {
    let i = 0
    const body = new ReadableStream({
      async pull(controller) {
        if (whole) {
          controller.enqueue(whole)
          controller.close()
          return
        }
        await turn()
        if (i < events.length) controller.enqueue(events[i++])
        else controller.close()
      },
    })
    return new Response(body, {
      headers: { 'content-type': 'text/event-stream; charset=utf-8', ...headers },
    })
  }
}

function assistantText(messages) {
  const last = messages[messages.length - 1]
  if (last?.role !== 'assistant') return ''
  let text = ''
  for (const part of last.parts) if (part.type === 'text') text += part.text
  return text
}

/** Mounts one hook, starts one stream, resolves when the whole text is committed. */
function runOnce(contender, n, delivery, runId) {
  if (contender.bare) return contender.bare(n, delivery)
  const expected = Array.from({ length: n }, (_, i) => piece(i)).join('')
  return new Promise((resolve, reject) => {
    const container = document.createElement('div')
    document.body.appendChild(container)
    const root = createRoot(container)
    let commits = 0
    let counting = false
    let start = 0
    let finished = false
    const timer = setTimeout(
      () => finish(new Error(`${contender.label}: no final text after 120 s`)),
      120_000,
    )
    function finish(error) {
      if (finished) return
      finished = true
      clearTimeout(timer)
      const ms = performance.now() - start
      setImmediate(() => {
        root.unmount()
        container.remove()
        error ? reject(error) : resolve({ ms, renders: commits })
      })
    }
    function onCommit(state) {
      if (counting && state.done && state.text === expected) finish()
      else if (counting && state.done && state.text.length >= expected.length)
        finish(new Error(`${contender.label}: wrong text (${state.text.length} chars)`))
    }
    const Probe = contender.component(n, delivery, runId, onCommit, (send) => {
      counting = true
      start = performance.now()
      send()
    })
    root.render(h(React.Profiler, { id: 'hook', onRender: () => counting && commits++ }, h(Probe)))
  })
}

/**
 * Mounts `streams` hooks of one contender side by side in one root (one Profiler around them all),
 * starts every stream in the same effect pass, and resolves when every pane has committed its whole
 * text: wall time from the first send and the commits of the whole page.
 */
function runParallel(contender, streams, n, delivery, runId) {
  if (contender.bare) return contender.bareParallel(streams, n, delivery)
  const expected = Array.from({ length: n }, (_, i) => piece(i)).join('')
  return new Promise((resolve, reject) => {
    const container = document.createElement('div')
    document.body.appendChild(container)
    const root = createRoot(container)
    let commits = 0
    let counting = false
    let start = 0
    let finished = false
    const complete = new Set()
    const timer = setTimeout(
      () => finish(new Error(`${contender.label}: ${complete.size}/${streams} texts after 300 s`)),
      300_000,
    )
    function finish(error) {
      if (finished) return
      finished = true
      clearTimeout(timer)
      const ms = performance.now() - start
      setImmediate(() => {
        root.unmount()
        container.remove()
        error ? reject(error) : resolve({ ms, renders: commits })
      })
    }
    const probes = Array.from({ length: streams }, (_, pane) =>
      contender.component(
        n,
        delivery,
        `${runId}-${pane}`,
        (state) => {
          if (!counting || !state.done) return
          if (state.text === expected) {
            complete.add(pane)
            if (complete.size === streams) finish()
          } else if (state.text.length >= expected.length) {
            finish(new Error(`${contender.label}: wrong text (${state.text.length} chars)`))
          }
        },
        (send) => {
          if (!counting) {
            counting = true
            start = performance.now()
          }
          send()
        },
      ),
    )
    root.render(
      h(
        React.Profiler,
        { id: 'panes', onRender: () => counting && commits++ },
        probes.map((Probe, pane) => h(Probe, { key: pane })),
      ),
    )
  })
}

function useCommit(onCommit, state) {
  React.useLayoutEffect(() => onCommit(state))
}

function useStartOnce(start, send) {
  const started = React.useRef(false)
  React.useEffect(() => {
    if (started.current) return
    started.current = true
    start(send)
  }, [start, send])
}

function oursContender(useCopilotStream, label, bufferMs) {
  return {
    label,
    component(n, delivery, _runId, onCommit, start) {
      const fetch = fakeFetch(oursEvents(n), delivery)
      const options = {
        api: '/api/copilot',
        fetch,
        ...(bufferMs === undefined ? {} : { bufferMs }),
      }
      return function Probe() {
        const s = useCopilotStream(options)
        useCommit(onCommit, { text: s.text, done: s.status === 'done' })
        useStartOnce(start, () => s.send('hi'))
        return h('p', null, s.text)
      }
    },
  }
}

// The delivery alone: the same fake fetch read to the end with no parsing and no React. What any
// hook costs is its wall time minus this.
const deliveryFloor = {
  label: 'floor: the body read, no hook',
  async bare(n, delivery) {
    const fetch = fakeFetch(oursEvents(n), delivery)
    const start = performance.now()
    const response = await fetch()
    const reader = response.body.getReader()
    while (!(await reader.read()).done) {}
    return { ms: performance.now() - start, renders: 0 }
  },
  async bareParallel(streams, n, delivery) {
    const fetches = Array.from({ length: streams }, () => fakeFetch(oursEvents(n), delivery))
    const start = performance.now()
    await Promise.all(
      fetches.map(async (fetch) => {
        const reader = (await fetch()).body.getReader()
        while (!(await reader.read()).done) {}
      }),
    )
    return { ms: performance.now() - start, renders: 0 }
  },
}

function useCompletionContender(throttle) {
  return {
    label: `${aiSdkLabel} useCompletion (throttle ${throttle ?? 'off'})`,
    component(n, delivery, runId, onCommit, start) {
      const fetch = fakeFetch(aiSdkEvents(n), delivery, { 'x-vercel-ai-ui-message-stream': 'v1' })
      return function Probe() {
        const c = useCompletion({
          api: '/api/completion',
          id: `c${runId}`,
          fetch,
          experimental_throttle: throttle,
        })
        useCommit(onCommit, { text: c.completion, done: !c.isLoading && c.completion.length > 0 })
        useStartOnce(start, () => c.complete('hi'))
        return h('p', null, c.completion)
      }
    },
  }
}

function useChatContender(throttle) {
  return {
    label: `${aiSdkLabel} useChat (throttle ${throttle ?? 'off'})`,
    component(n, delivery, runId, onCommit, start) {
      const fetch = fakeFetch(aiSdkEvents(n), delivery, { 'x-vercel-ai-ui-message-stream': 'v1' })
      const transport = new DefaultChatTransport({ api: '/api/chat', fetch })
      return function Probe() {
        const chat = useChat({ id: `chat${runId}`, transport, experimental_throttle: throttle })
        const text = assistantText(chat.messages)
        useCommit(onCommit, { text, done: chat.status === 'ready' && text.length > 0 })
        useStartOnce(start, () => chat.sendMessage({ text: 'hi' }))
        return h('p', null, text)
      }
    },
  }
}

export async function run({ quick, before }) {
  const missing = []
  const react = await loadOurs('react')
  const useCopilotStream = react.module?.useCopilotStream
  if (typeof useCopilotStream !== 'function')
    missing.push(react.missing ?? 'useCopilotStream is not exported yet')
  // --before=<dir>: that build's useCopilotStream too, in the parallel case only (e.g. the build
  // before the shared flush, where each hook flushed on a frame callback of its own).
  const previous = before ? await loadBefore(before, 'react') : undefined
  if (previous && typeof previous.module?.useCopilotStream !== 'function')
    missing.push(previous.missing ?? `${before}: no useCopilotStream`)

  const n = quick ? 500 : Number(process.env.HOOK_N ?? 10_000)
  const rounds = quick ? 1 : Number(process.env.HOOK_ROUNDS ?? 5)
  const contenders = [
    { name: 'floor', ...deliveryFloor },
    ...(useCopilotStream
      ? [
          {
            name: 'ours',
            ...oursContender(useCopilotStream, 'ours: useCopilotStream (default buffering)'),
          },
          {
            name: 'ours0',
            ...oursContender(useCopilotStream, 'ours: useCopilotStream (bufferMs: 0)', 0),
          },
        ]
      : []),
    ...[undefined, 16, 50].map((t) => ({
      name: `completion${t ?? 'off'}`,
      ...useCompletionContender(t),
    })),
    ...[undefined, 16, 50].map((t) => ({ name: `chat${t ?? 'off'}`, ...useChatContender(t) })),
  ]
  const beforeContender =
    typeof previous?.module?.useCopilotStream === 'function'
      ? {
          name: 'before',
          ...oursContender(previous.module.useCopilotStream, 'useCopilotStream, --before build'),
        }
      : undefined
  // For profiling one contender: BENCH_CONTENDERS=ours node --cpu-prof bench/lib/run-suite.mjs hook
  const keep = process.env.BENCH_CONTENDERS?.split(',')
  if (keep)
    contenders.splice(0, contenders.length, ...contenders.filter((c) => keep.includes(c.name)))
  let runId = 0
  // Warm-up (module init, JIT) on a short stream.
  for (const c of contenders) await runOnce(c, 50, 'all at once', runId++)

  const rows = []
  const bench = '3 hook'
  // HOOK_CASES=parallel runs only the parallel case, HOOK_CASES=single only the one-stream ones.
  const cases = process.env.HOOK_CASES ?? 'single,parallel'
  for (const delivery of cases.includes('single') ? ['all at once', 'one per turn'] : []) {
    const samples = await interleave(contenders, rounds, (c) => runOnce(c, n, delivery, runId++))
    const ms = (name) => median(samples.get(name).map((s) => s.ms))
    const renders = (name) => median(samples.get(name).map((s) => s.renders))
    const aiNames = contenders
      .filter((c) => c.name.startsWith('chat') || c.name.startsWith('completion'))
      .map((c) => c.name)
    const fastest = aiNames.reduce((a, b) => (ms(a) <= ms(b) ? a : b), aiNames[0])
    const ours = samples.has('ours')
    for (const c of contenders) {
      const row = {
        bench,
        metric: `wall ms, ${n.toLocaleString('en-US')} chunks ${delivery}`,
        contender: c.label,
        value: ms(c.name),
        unit: 'ms',
        ratio:
          ours && c.name !== 'ours'
            ? pairedRatio(samples.get('ours'), samples.get(c.name), (s) => s.ms)
            : undefined,
      }
      if (ours && c.name === fastest) {
        row.goal = 'ours ≤ 0.5x the fastest AI SDK setting'
        row.met = row.ratio <= 0.5
      }
      rows.push(row)
    }
    for (const c of contenders) {
      if (c.bare) continue
      const row = {
        bench,
        metric: `renders, ${n.toLocaleString('en-US')} chunks ${delivery}`,
        contender: c.label,
        value: renders(c.name),
        unit: '',
        ratio: ours && c.name !== 'ours' ? renders('ours') / renders(c.name) : undefined,
      }
      if (ours && c.name === 'chat16') {
        row.goal = 'ours ≤ useChat throttle 16'
        row.met = renders('ours') <= renders('chat16')
      }
      rows.push(row)
    }
  }
  // Parallel streams (issue 13 §2): S hooks in one page, N chunks each, one chunk per turn per
  // stream (the streams' reads interleave as sockets' would). Our hook against useChat.
  const streams = quick ? 3 : Number(process.env.PARALLEL_STREAMS ?? 10)
  const pn = quick ? 200 : Number(process.env.PARALLEL_N ?? 2_000)
  const prounds = quick ? 1 : Number(process.env.PARALLEL_ROUNDS ?? 3)
  const parallelNames = new Set(['floor', 'ours', 'chatoff', 'chat16', 'chat50'])
  const parallel = contenders.filter((c) => parallelNames.has(c.name))
  if (beforeContender && (!keep || keep.includes('before'))) parallel.splice(2, 0, beforeContender)
  if (parallel.length > 0 && cases.includes('parallel')) {
    for (const c of parallel)
      if (!c.bare) await runParallel(c, streams, 20, 'one per turn', runId++)
    const delivery = 'one per turn'
    const samples = await interleave(parallel, prounds, (c) =>
      runParallel(c, streams, pn, delivery, runId++),
    )
    const label = `${streams} streams × ${pn.toLocaleString('en-US')} chunks ${delivery}`
    const ms = (name) => median(samples.get(name).map((s) => s.ms))
    const renders = (name) => median(samples.get(name).map((s) => s.renders))
    const ours = samples.has('ours')
    for (const c of parallel) {
      rows.push({
        bench,
        metric: `wall ms, ${label}`,
        contender: c.label,
        value: ms(c.name),
        unit: 'ms',
        ratio:
          ours && c.name !== 'ours'
            ? pairedRatio(samples.get('ours'), samples.get(c.name), (s) => s.ms)
            : undefined,
      })
    }
    for (const c of parallel) {
      if (c.bare) continue
      const row = {
        bench,
        metric: `renders, ${label}`,
        contender: c.label,
        value: renders(c.name),
        unit: '',
        ratio: ours && c.name !== 'ours' ? renders('ours') / renders(c.name) : undefined,
      }
      if (ours && c.name === 'chat16') {
        row.goal = 'ours ≤ useChat throttle 16'
        row.met = renders('ours') <= renders('chat16')
      }
      rows.push(row)
    }
  }
  const notes = [
    `jsdom (pretendToBeVisual), its requestAnimationFrame replaced by a browser-faithful one (60 Hz, a microtask checkpoint after each callback), React ${React.version}, commits counted by a Profiler from send to the commit with the full text; ${rounds} round(s) interleaved`,
    cases.includes('parallel') &&
      `parallel: ${streams} hooks side by side in one root, ${pn.toLocaleString('en-US')} chunks each, one chunk per turn per stream, commits of the whole page until every pane shows its full text; ${prounds} round(s) interleaved`,
  ].filter(Boolean)
  return { rows, notes, missing }
}
