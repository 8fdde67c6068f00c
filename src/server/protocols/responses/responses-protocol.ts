import type { Protocol } from '../protocol'
import type { ResponsesContext } from './decode-responses-request'
import { decodeResponsesRequest } from './decode-responses-request'
import { toResponse } from './response-object'
import { ResponsesEncoder } from './responses-encoder'

/**
 * The OpenAI Responses API: `POST …/responses` (or any body with `input` and no `messages`). What
 * `@ai-sdk/openai`'s default model and CopilotKit's runtime call. Stateless: nothing is stored, so
 * `previous_response_id` is a 400. Errors before the stream use OpenAI's error envelope (the default).
 */
export const responsesProtocol: Protocol<ResponsesContext> = {
  name: 'responses',
  decode: decodeResponsesRequest,
  encoder: (meta, decoded) => new ResponsesEncoder(meta, decoded),
  json: toResponse,
}
