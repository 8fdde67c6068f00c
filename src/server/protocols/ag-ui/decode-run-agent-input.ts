import { ValidationError } from '../../errors'
import type { ParsedRequest, RequestSettings } from '../chat-completions/validate-request'
import { validateRequest } from '../chat-completions/validate-request'
import type { Decoded } from '../protocol'
import { checkRunAgentInput } from './check-run-agent-input'
import { toChatMessages } from './to-chat-messages'
import { upgradeLegacyParts } from './upgrade-legacy-parts'

/** What the AG-UI stream echoes back: the ids of the run it answers. */
export interface AgUiContext {
  threadId: string
  runId: string
  parentRunId?: string
  /**
   * The client declared no `protocolVersion`, so it predates AG-UI 1.0 (1.0 clients always send
   * it): its reasoning events are the THINKING_* ones.
   */
  thinkingEvents: boolean
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** An OpenAI field path (from validateRequest) in AG-UI's words. */
function agUiParam(param: string, sources: string[]): string {
  if (param === 'model') return 'forwardedProps.model'
  let text = param.replace(/^messages\[(\d+)\]/, (whole, i: string) => sources[Number(i)] ?? whole)
  text = text
    .replace(/^tools\[(\d+)\]\.function\./, 'tools[$1].')
    .replace(/^tools\[(\d+)\]\.function$/, 'tools[$1]')
  return text.replace('.tool_calls', '.toolCalls').replace('.tool_call_id', '.toolCallId')
}

function renamed(error: ValidationError, sources: string[]): ValidationError {
  if (error.param === null) return error
  const param = agUiParam(error.param, sources)
  if (param === error.param) return error
  return new ValidationError(error.message.replaceAll(error.param, param), {
    param,
    status: error.status,
    code: error.code,
  })
}

/**
 * A `RunAgentInput` (what `HttpAgent` and CopilotKit POST) in the one internal shape.
 * `checkRunAgentInput` checks its shape as @ag-ui/core's schema would (without bundling zod); the
 * conversation is then mapped to its Chat Completions form and checked by `validateRequest`, so
 * limits, the model allow-list and the cache key are the same whichever protocol asks.
 * `forwardedProps.model` picks the model (the convention AG-UI apps use); `state`, `resume` and
 * other forwarded props are accepted and ignored: this endpoint is a model, not a stateful agent.
 */
export function decodeRunAgentInput(
  body: unknown,
  settings: RequestSettings,
): Decoded<AgUiContext> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ValidationError('Request body must be a RunAgentInput JSON object.', { param: null })
  }
  // Producers older than 1.0 sent `binary` parts (and null for absent optional fields, which the
  // check reads as absent); the 1.0 client upgrades its own input the same way before sending.
  const input = checkRunAgentInput(upgradeLegacyParts(body as Record<string, unknown>))

  const { messages, sources } = toChatMessages(input.messages, input.context)
  const tools = input.tools.map((tool) => ({
    type: 'function',
    function: {
      name: tool.name,
      ...(tool.description !== '' ? { description: tool.description } : {}),
      ...(tool.parameters !== undefined ? { parameters: tool.parameters } : {}),
    },
  }))
  // Any JSON value is a valid forwardedProps; only an object can name a model.
  const { forwardedProps } = input
  const forwarded = isObject(forwardedProps) ? forwardedProps : undefined
  const chatBody = {
    messages,
    ...(forwarded?.model !== undefined ? { model: forwarded.model } : {}),
    ...(tools.length > 0 ? { tools } : {}),
    // AG-UI only streams, and RUN_FINISHED carries the usage whenever there is one.
    stream: true,
    stream_options: { include_usage: true },
  }

  let request: ParsedRequest
  try {
    request = validateRequest(chatBody, settings)
  } catch (error) {
    if (error instanceof ValidationError) {
      if (error.param === 'messages' && messages.length === 0) {
        throw new ValidationError(
          'messages must hold at least one developer, system, user, assistant or tool message.',
          { param: 'messages' },
        )
      }
      throw renamed(error, sources)
    }
    throw error
  }
  // Every run of a thread is a turn of one conversation.
  if (input.threadId !== '') request.conversation = `ag-ui:${input.threadId}`
  return {
    request,
    context: {
      threadId: input.threadId,
      runId: input.runId,
      ...(input.parentRunId !== undefined ? { parentRunId: input.parentRunId } : {}),
      thinkingEvents: input.protocolVersion === undefined,
    },
  }
}
