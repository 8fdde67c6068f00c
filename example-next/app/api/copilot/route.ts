import { createCopilotEdgeRoute } from 'copilotedge'
import { MODELS } from '../../models'

// The environment is read when the server first loads this route, never at `next build`, so a
// build needs no credentials. `npm run example` sets COPILOTEDGE_BASE_URL to the offline Workers AI
// emulator when no Cloudflare credentials are set (the handler reads it itself); unset, this talks
// to api.cloudflare.com. Every method is exported: with `resume` on, `GET ?stream=<id>` resumes an
// answer (the chat page does so after a reload) and `DELETE ?stream=<id>` stops it; PUT/… get our
// 405 JSON with `Allow`.
export const { GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS } = createCopilotEdgeRoute({
  apiKey: process.env.CLOUDFLARE_API_TOKEN,
  accountId: process.env.CLOUDFLARE_ACCOUNT_ID,
  stream: true,
  // The chat page uses the first (the default model); the comparison page names each in its body.
  model: MODELS[0],
  models: [...MODELS],
  // A dropped connection or a reload does not lose the answer: it runs on (graceMs) for a resume.
  resume: true,
})
