import { createCopilotEdgeHandler } from 'copilotedge'

// The environment is read when the server first loads this route, never at `next build`, so a
// build needs no credentials. `npm run example` sets COPILOTEDGE_BASE_URL to the offline Workers AI
// emulator when no Cloudflare credentials are set; unset, this talks to api.cloudflare.com.
const handler = createCopilotEdgeHandler({
  apiKey: process.env.CLOUDFLARE_API_TOKEN,
  accountId: process.env.CLOUDFLARE_ACCOUNT_ID,
  baseURL: process.env.COPILOTEDGE_BASE_URL,
  stream: true,
})

export const POST = handler
