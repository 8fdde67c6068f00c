// Our endpoint: copilotedge's one handler. CopilotKit's runtime reaches it as an AG-UI agent
// (app/api/copilotkit), so it answers the RunAgentInput body with AG-UI events. Credentials and
// COPILOTEDGE_BASE_URL (the emulator, offline) come from the environment when the route first loads.
import { createCopilotEdgeRoute } from 'copilotedge'

export const { GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS } = createCopilotEdgeRoute({
  apiKey: process.env.CLOUDFLARE_API_TOKEN,
  accountId: process.env.CLOUDFLARE_ACCOUNT_ID,
  baseURL: process.env.COPILOTEDGE_BASE_URL,
  stream: true,
})
