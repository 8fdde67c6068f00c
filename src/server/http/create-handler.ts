import type { CopilotEdgeConfig } from '../config'
import type { CopilotEdgeHandler } from '../copilot-edge'
import { CopilotEdge } from '../copilot-edge'

/** `export const POST = createCopilotEdgeHandler(config)`: same as `new CopilotEdge(config).createNextHandler()`. */
export function createCopilotEdgeHandler(config: CopilotEdgeConfig = {}): CopilotEdgeHandler {
  return new CopilotEdge(config).createNextHandler()
}
