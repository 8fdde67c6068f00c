// A synthetic downstream body in our wire format (`id: n` + `data: <chat.completion.chunk>`, then
// `data: [DONE]`), with multi-byte text so a reader that decodes per read corrupts characters, and
// a seeded split into reads of random sizes so every reader sees exactly the same chunks.
import { mulberry32, randomInt } from './prng.mjs'

// Mixed widths on purpose: 1-byte ASCII, 2-byte Latin, 3-byte CJK, 4-byte emoji.
const PIECES = [
  ' the',
  ' stream',
  ' wörld',
  ' naïve',
  ' 你好',
  ' 数据',
  ' 🚀',
  ' ok',
  ',',
  ' token',
  '.',
]

export function chunkEvent(id, content, finishReason = null) {
  const chunk = {
    id: 'chatcmpl-bench',
    object: 'chat.completion.chunk',
    created: 1767225600,
    model: '@cf/meta/llama-3.1-8b-instruct',
    choices: [{ index: 0, delta: { content }, finish_reason: finishReason }],
  }
  return `id: ${id}\ndata: ${JSON.stringify(chunk)}\n\n`
}

/** Builds an SSE body of about `targetBytes`; returns the bytes and what a correct reader sees. */
export function buildSSEBody(targetBytes, seed = 1) {
  const random = mulberry32(seed)
  const parts = []
  let bytes = 0
  let events = 0
  let chars = 0
  const encoder = new TextEncoder()
  while (bytes < targetBytes) {
    const content = PIECES[randomInt(random, 0, PIECES.length - 1)]
    const text = chunkEvent(events, content)
    parts.push(text)
    bytes += encoder.encode(text).byteLength
    events++
    chars += content.length
  }
  parts.push(chunkEvent(events, '', 'stop'))
  events++
  parts.push('data: [DONE]\n\n')
  const body = encoder.encode(parts.join(''))
  return { body, events, chars }
}

/** Splits `body` into views of random sizes in [minBytes, maxBytes] (seeded). */
export function splitReads(body, minBytes, maxBytes, seed = 2) {
  const random = mulberry32(seed)
  const reads = []
  for (let at = 0; at < body.byteLength; ) {
    const size = randomInt(random, minBytes, maxBytes)
    reads.push(body.subarray(at, Math.min(body.byteLength, at + size)))
    at += size
  }
  return reads
}

/** A fresh Response whose body yields exactly `reads`, one per read(). */
export function responseOf(reads, contentType = 'text/event-stream; charset=utf-8') {
  let i = 0
  const stream = new ReadableStream({
    pull(controller) {
      if (i < reads.length) controller.enqueue(reads[i++])
      else controller.close()
    },
  })
  return new Response(stream, { headers: { 'content-type': contentType } })
}
