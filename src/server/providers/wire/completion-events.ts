import type { CompletionResult, UpstreamEvent } from '../provider'

/**
 * A complete answer replayed as the events a stream of it would have produced: reasoning, text,
 * one whole fragment per tool call, usage, finish. Used when an upstream answers JSON to a
 * `stream: true` request (the gpt-oss quirk) and for binding results that are objects.
 */
export async function* completionEvents(result: CompletionResult): AsyncGenerator<UpstreamEvent> {
  if (result.reasoning) yield { type: 'reasoning', text: result.reasoning }
  if (result.text !== '') yield { type: 'text', text: result.text }
  if (result.toolCalls) {
    let index = 0
    for (const call of result.toolCalls) {
      yield {
        type: 'tool-call',
        delta: {
          index: index++,
          id: call.id,
          type: 'function',
          function: { name: call.function.name, arguments: call.function.arguments },
        },
      }
    }
  }
  if (result.usage) yield { type: 'usage', usage: result.usage }
  yield { type: 'finish', reason: result.finishReason }
}
