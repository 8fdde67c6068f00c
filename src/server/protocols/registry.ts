import { agUiProtocol } from './ag-ui/ag-ui-protocol'
import { chatCompletionsProtocol } from './chat-completions/chat-completions-protocol'
import type { Protocol, ProtocolName } from './protocol'
import { responsesProtocol } from './responses/responses-protocol'
import { uiMessageStreamProtocol } from './ui-message-stream/ui-message-stream-protocol'

/** Every protocol the handler speaks, by name. */
export const PROTOCOLS: Readonly<Record<ProtocolName, Protocol>> = {
  'chat-completions': chatCompletionsProtocol as Protocol,
  responses: responsesProtocol as Protocol,
  'ag-ui': agUiProtocol as Protocol,
  'ui-message-stream': uiMessageStreamProtocol as Protocol,
}
