import { render } from '@testing-library/react'
import { Profiler } from 'react'
import { SWRConfig } from 'swr'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { type UseCopilotStreamResult, useCopilotStream } from '../../src/react'
import { chunk, controlledBody, inMemoryFetch, sseResponse } from '../client/sse-helpers'

// Renders are counted the way a browser produces them: without act() batching everything into one.
let actEnvironment: unknown
beforeAll(() => {
  actEnvironment = Reflect.get(globalThis, 'IS_REACT_ACT_ENVIRONMENT')
  Reflect.set(globalThis, 'IS_REACT_ACT_ENVIRONMENT', false)
})
afterAll(() => {
  Reflect.set(globalThis, 'IS_REACT_ACT_ENVIRONMENT', actEnvironment)
})
afterEach(() => {
  vi.unstubAllGlobals()
})

const event = (content: string) => `data: ${JSON.stringify(chunk(content))}\n\n`
const DONE = `data: ${JSON.stringify(chunk(undefined, 'stop'))}\n\ndata: [DONE]\n\n`
const PANES = 10

const macrotask = () => new Promise((resolve) => setTimeout(resolve, 0))

/**
 * requestAnimationFrame as a browser runs it: the frame's callbacks in order, each followed by a
 * microtask checkpoint (HTML's "clean up after running script"), where React renders the
 * useSyncExternalStore updates the callback made. jsdom runs them all in one go instead, which would
 * hide a render per callback.
 */
function browserFrames() {
  let next = 0
  const callbacks = new Map<number, FrameRequestCallback>()
  vi.stubGlobal('requestAnimationFrame', (callback: FrameRequestCallback) => {
    callbacks.set(++next, callback)
    return next
  })
  vi.stubGlobal('cancelAnimationFrame', (handle: number) => callbacks.delete(handle))
  return {
    get requested() {
      return callbacks.size
    },
    async frame() {
      const due = [...callbacks.values()]
      callbacks.clear()
      for (const callback of due) {
        callback(performance.now())
        await macrotask() // every microtask (React's render among them) runs before the next one
      }
    },
  }
}

/** Resolves once `done()` holds, letting streams and React run in between (bounded). */
async function until(done: () => boolean) {
  for (let i = 0; i < 200 && !done(); i++) await macrotask()
  expect(done()).toBe(true)
}

function Pane(props: { index: number; fetch: typeof fetch; onChunk: () => void; seen: Seen }) {
  const result = useCopilotStream({ fetch: props.fetch, onChunk: props.onChunk })
  props.seen[props.index] = result
  return <p>{result.text}</p>
}

type Seen = Record<number, UseCopilotStreamResult>

function mountPanes() {
  const panes = Array.from({ length: PANES }, () => ({
    mock: inMemoryFetch(),
    body: controlledBody(),
  }))
  const seen: Seen = {}
  const counts = { commits: 0, chunks: 0 }
  const view = render(
    <SWRConfig value={{ provider: () => new Map() }}>
      <Profiler id="panes" onRender={() => counts.commits++}>
        {panes.map((pane, index) => (
          <Pane
            // biome-ignore lint/suspicious/noArrayIndexKey: a fixed list of panes
            key={index}
            index={index}
            fetch={pane.mock.fetch}
            onChunk={() => counts.chunks++}
            seen={seen}
          />
        ))}
      </Profiler>
    </SWRConfig>,
  )
  return { panes, seen, counts, view }
}

describe('several useCopilotStream streaming at once', () => {
  it('renders every pane once per animation frame, in one commit for all of them', async () => {
    const frames = browserFrames()
    const { panes, seen, counts, view } = mountPanes()
    const answers = panes.map((_, i) => seen[i]?.send(`Question ${i}`))
    for (const pane of panes) pane.mock.respond(sseResponse(pane.body.stream))
    await until(() => panes.every((_, i) => seen[i]?.status === 'streaming'))

    // Each stream receives a delta; nothing renders until the frame.
    for (const [i, pane] of panes.entries()) pane.body.push(event(`p${i}-a `))
    await until(() => counts.chunks === PANES)
    expect(frames.requested).toBe(1)
    const before = counts.commits
    await frames.frame()
    await macrotask()
    expect(counts.commits - before).toBe(1)
    expect(panes.map((_, i) => seen[i]?.text)).toEqual(panes.map((_, i) => `p${i}-a `))

    // Three more deltas each, arriving in separate reads: still one commit in the next frame.
    for (const suffix of ['b', 'c', 'd']) {
      for (const [i, pane] of panes.entries()) pane.body.push(event(`p${i}-${suffix} `))
      await macrotask()
    }
    await until(() => counts.chunks === PANES * 4)
    const second = counts.commits
    await frames.frame()
    await macrotask()
    expect(counts.commits - second).toBe(1)
    expect(panes.map((_, i) => seen[i]?.text)).toEqual(
      panes.map((_, i) => `p${i}-a p${i}-b p${i}-c p${i}-d `),
    )

    for (const pane of panes) {
      pane.body.push(DONE)
      pane.body.close()
    }
    expect(await Promise.all(answers)).toEqual(
      panes.map((_, i) => `p${i}-a p${i}-b p${i}-c p${i}-d `),
    )
    expect(frames.requested).toBe(0) // finished streams leave no frame asked for
    view.unmount()
  })

  it('keeps flushing the other panes when one is stopped between frames', async () => {
    const frames = browserFrames()
    const { panes, seen, counts, view } = mountPanes()
    const answers = panes.map((_, i) => seen[i]?.send(`Question ${i}`))
    for (const pane of panes) pane.mock.respond(sseResponse(pane.body.stream))
    await until(() => panes.every((_, i) => seen[i]?.status === 'streaming'))

    for (const [i, pane] of panes.entries()) pane.body.push(event(`p${i} `))
    await until(() => counts.chunks === PANES)
    seen[0]?.stop()
    await until(() => seen[0]?.status === 'aborted')
    const before = counts.commits
    await frames.frame()
    await macrotask()
    expect(counts.commits - before).toBe(1)
    expect(panes.map((_, i) => seen[i]?.text)).toEqual(panes.map((_, i) => `p${i} `))
    expect(seen[0]?.status).toBe('aborted')
    expect(panes[0]?.body.cancelled).toBe(true)
    expect(await answers[0]).toBeNull()
    for (const pane of panes.slice(1)) {
      pane.body.push(DONE)
      pane.body.close()
    }
    await Promise.all(answers)
    view.unmount()
  })
})
