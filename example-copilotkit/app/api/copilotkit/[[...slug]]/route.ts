// CopilotKit's runtime (v2 API), with copilotedge as its one agent over AG-UI: the runtime POSTs each
// run's RunAgentInput to our endpoint and relays the AG-UI events to <CopilotChat>. A catch-all route,
// because the runtime answers several paths under its base (`/info`, `/agent/:id/run`,
// `/agent/:id/stop/:threadId`, …).
import { HttpAgent } from '@ag-ui/client'
import { CopilotRuntime, createCopilotRuntimeHandler } from '@copilotkit/runtime/v2'

// Where the runtime reaches copilotedge: this app's own /api/copilot by default. A fixed URL from the
// environment, never one built from the request's Host header (that would let a caller aim it anywhere).
const agentURL =
  process.env.COPILOTEDGE_AGENT_URL ?? `http://127.0.0.1:${process.env.PORT ?? 3000}/api/copilot`

const runtime = new CopilotRuntime({
  agents: { copilotedge: new HttpAgent({ url: agentURL }) },
})

const handler = createCopilotRuntimeHandler({ runtime, basePath: '/api/copilotkit' })

export const GET = handler
export const POST = handler
export const OPTIONS = handler
