import { act, render } from '@testing-library/react'
import { SWRConfig } from 'swr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type UseCopilotStreamOptions, useCopilotStream } from '../../src/react'
import { answeringFetch, sseBody, sseResponse } from '../client/sse-helpers'

// Renders are counted the way a browser would produce them: without act() batching everything into
// one render, so React schedules renders exactly as it does in an app.
let actEnvironment: unknown
beforeAll(() => {
  actEnvironment = Reflect.get(globalThis, 'IS_REACT_ACT_ENVIRONMENT')
  Reflect.set(globalThis, 'IS_REACT_ACT_ENVIRONMENT', false)
})
afterAll(() => {
  Reflect.set(globalThis, 'IS_REACT_ACT_ENVIRONMENT', actEnvironment)
})

const CHUNKS = 5000
const deltas = Array.from({ length: CHUNKS }, (_, i) => `t${i} `)
const fullText = deltas.join('')

interface Rendered {
  status: string
  textLength: number
}

function Probe(props: {
  options: UseCopilotStreamOptions
  renders: Rendered[]
  api: { send?: (text: string) => Promise<string | null> }
}) {
  const { text, status, send } = useCopilotStream(props.options)
  props.renders.push({ status, textLength: text.length })
  props.api.send = send
  return <p>{text.length}</p>
}

/**
 * The whole 5,000-chunk body in reads of `readSize` bytes: all available at once, or (`perTask`) each
 * read in its own macrotask, as reads from a socket arrive, so timers and animation frames can run.
 */
function fastBody(readSize: number, perTask: boolean): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(sseBody(deltas))
  let offset = 0
  return new ReadableStream({
    async pull(controller) {
      if (perTask) await new Promise((resolve) => setImmediate(resolve))
      if (offset >= bytes.length) return controller.close()
      controller.enqueue(bytes.subarray(offset, offset + readSize))
      offset += readSize
    },
  })
}

async function stream(
  options: Omit<UseCopilotStreamOptions, 'fetch'>,
  readSize: number,
  perTask: boolean,
) {
  const { fetch } = answeringFetch(() => sseResponse(fastBody(readSize, perTask)))
  const renders: Rendered[] = []
  const api: { send?: (text: string) => Promise<string | null> } = {}
  let chunks = 0
  const view = render(
    <SWRConfig value={{ provider: () => new Map() }}>
      <Probe options={{ ...options, fetch, onChunk: () => chunks++ }} renders={renders} api={api} />
    </SWRConfig>,
  )
  const before = renders.length
  const started = performance.now()
  const text = await api.send?.('Count to 5000')
  const elapsedMs = performance.now() - started
  // Let React commit the terminal state.
  await act(async () => {})
  view.unmount()
  return { text, chunks, elapsedMs, renders: renders.slice(before) }
}

describe('render count for a 5,000-chunk stream delivered as fast as possible', () => {
  // An event is about 200 bytes: 16 KiB reads carry ~80 events, 200-byte reads about one.
  for (const [name, readSize, perTask] of [
    ['16 KiB reads, all at once', 16 * 1024, false],
    ['64-byte reads, all at once', 64, false],
    ['200-byte reads, one per task', 200, true],
  ] as const) {
    it(`renders at most a few dozen times with the default buffering (${name})`, async () => {
      const { text, chunks, elapsedMs, renders } = await stream({}, readSize, perTask)
      expect(text).toBe(fullText)
      expect(chunks).toBe(CHUNKS)
      expect(renders.at(-1)).toEqual({ status: 'done', textLength: fullText.length })
      console.info(
        `default buffering, ${name}: ${renders.length} renders for ${CHUNKS} chunks in ${Math.round(elapsedMs)} ms`,
      )
      // At most one render per animation frame (plus connecting, streaming and done). When reads
      // arrive in separate tasks, frames pass while the stream runs; a loaded machine runs it longer.
      expect(renders.length).toBeLessThanOrEqual(Math.ceil(elapsedMs / 16) + 4)
      if (!perTask) expect(renders.length).toBeLessThanOrEqual(36)
    })

    it(`renders exactly once per chunk with bufferMs: 0 (${name})`, async () => {
      const { text, chunks, renders } = await stream({ bufferMs: 0 }, readSize, perTask)
      expect(text).toBe(fullText)
      expect(chunks).toBe(CHUNKS)
      const streaming = renders.filter((r) => r.status === 'streaming' && r.textLength > 0)
      console.info(`bufferMs 0, ${name}: ${renders.length} renders for ${CHUNKS} chunks`)
      // One render per chunk, each showing one more delta than the one before.
      expect(streaming).toHaveLength(CHUNKS)
      expect(new Set(streaming.map((r) => r.textLength)).size).toBe(CHUNKS)
      expect(renders.at(-1)).toEqual({ status: 'done', textLength: fullText.length })
    })
  }
})
