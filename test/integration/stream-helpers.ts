// What both multi-instance suites do with a Chat Completions stream (Node behind haproxy, Workers).

/** The content deltas of a Chat Completions SSE body, joined. */
export function contentOf(body: string): string {
  return [...body.matchAll(/"content":"([^"]*)"/g)].map((m) => m[1]).join('')
}

/**
 * Reads a stream's body until it holds `events` content events, then cuts the connection. Returns
 * the complete events received and the id of the last one (what a client resumes from).
 */
export async function readThenCut(response: Response, controller: AbortController, events: number) {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader()
  const decoder = new TextDecoder()
  let text = ''
  while ((text.match(/"content":"[^"]+"/g) ?? []).length < events) {
    const { done, value } = await reader.read()
    if (done) throw new Error(`the stream ended early: ${text}`)
    text += decoder.decode(value, { stream: true })
  }
  controller.abort()
  const complete = text.slice(0, text.lastIndexOf('\n\n') + 2)
  const ids = [...complete.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))
  return { received: complete, lastEventId: ids.at(-1) as number }
}
