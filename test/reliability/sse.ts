// Reads a whole SSE answer into what a client would notice: the content text, whether it ended with
// [DONE], the in-stream error if any, and every raw event (to check for leaked secrets).
import { createParser } from 'eventsource-parser'

export interface StreamResult {
  raw: string
  events: { id?: string; data: string }[]
  text: string
  done: boolean
  finishReason: string | null
  error: { message: string; type: string; code: unknown } | null
  /** Events after an error or after [DONE] (there must be none). */
  eventsAfterEnd: number
}

export async function readStream(response: Response): Promise<StreamResult> {
  const raw = await response.text()
  const result: StreamResult = {
    raw,
    events: [],
    text: '',
    done: false,
    finishReason: null,
    error: null,
    eventsAfterEnd: 0,
  }
  const parser = createParser({
    onEvent(event) {
      result.events.push({ id: event.id, data: event.data })
      if (result.done || result.error) {
        result.eventsAfterEnd++
        return
      }
      if (event.data === '[DONE]') {
        result.done = true
        return
      }
      const chunk = JSON.parse(event.data)
      if (chunk.error) {
        result.error = chunk.error
        return
      }
      const choice = chunk.choices?.[0]
      result.text += choice?.delta?.content ?? ''
      if (choice?.finish_reason) result.finishReason = choice.finish_reason
    },
  })
  parser.feed(raw)
  return result
}
