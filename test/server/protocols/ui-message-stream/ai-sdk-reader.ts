// Reads our bytes with ai 7's own stream reader: the very parse and chunk schema useChat's
// DefaultChatTransport applies, and the UIMessage it builds.
import { parseJsonEventStream, readUIMessageStream, type UIMessage, uiMessageChunkSchema } from 'ai'

export function byteStream(text: string, splitEvery = 0): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text)
  return new ReadableStream({
    start(controller) {
      const step = splitEvery > 0 ? splitEvery : bytes.length || 1
      for (let i = 0; i < bytes.length; i += step) controller.enqueue(bytes.slice(i, i + step))
      controller.close()
    },
  })
}

/** Every chunk as ai 7 parses it; throws on the first one its schema rejects. */
export async function aiSdkChunks(text: string, splitEvery = 0): Promise<unknown[]> {
  const chunks: unknown[] = []
  const reader = parseJsonEventStream({
    stream: byteStream(text, splitEvery),
    schema: uiMessageChunkSchema,
  }).getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return chunks
    if (!value.success) throw value.error
    chunks.push(value.value)
  }
}

/** The assistant UIMessage ai 7 builds from our bytes (the last state readUIMessageStream yields). */
export async function aiSdkMessage(
  text: string,
  onError?: (error: unknown) => void,
): Promise<UIMessage | undefined> {
  const reader = parseJsonEventStream({ stream: byteStream(text), schema: uiMessageChunkSchema })
  const chunks = reader.pipeThrough(
    new TransformStream({
      transform(result, controller) {
        if (!result.success) throw result.error
        controller.enqueue(result.value)
      },
    }),
  )
  let last: UIMessage | undefined
  for await (const message of readUIMessageStream({ stream: chunks, onError })) last = message
  return last
}
