import type { Protocol } from '../protocol'
import { AgUiEncoder } from './ag-ui-encoder'
import type { AgUiContext } from './decode-run-agent-input'
import { decodeRunAgentInput } from './decode-run-agent-input'

/**
 * AG-UI (what CopilotKit and `@ag-ui/client`'s `HttpAgent` speak): a `RunAgentInput` body, an SSE
 * stream of AG-UI events. Stream only: there is no JSON form. Errors before the stream keep the
 * OpenAI envelope, which `HttpAgent` shows whole as `HTTP <status>: <body>`.
 */
export const agUiProtocol: Protocol<AgUiContext> = {
  name: 'ag-ui',
  decode: decodeRunAgentInput,
  encoder: (meta, { context }) => new AgUiEncoder(meta, context),
}
