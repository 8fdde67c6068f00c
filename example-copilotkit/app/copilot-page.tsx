'use client'
// CopilotKit's own provider and chat (the v2 API of @copilotkit/react-core), talking to the runtime at
// /api/copilotkit, whose agent "copilotedge" is our handler. One frontend tool, setBackground: the model
// asks for it, CopilotKit runs it here in the page, and sends its result back in a follow-up run.
import { CopilotChat, CopilotKitProvider, useFrontendTool } from '@copilotkit/react-core/v2'
import { z } from 'zod'

function BackgroundTool() {
  useFrontendTool({
    name: 'setBackground',
    description: "Sets the page's background colour.",
    parameters: z.object({
      color: z.string().describe('A CSS colour, e.g. "lavender" or "#ffeedd"'),
    }),
    handler: async ({ color }) => {
      document.body.style.setProperty('--page-background', color)
      document.body.dataset.background = color
      return `The background is now ${color}.`
    },
  })
  return null
}

export function CopilotPage() {
  return (
    <CopilotKitProvider runtimeUrl="/api/copilotkit" agentId="copilotedge">
      <BackgroundTool />
      <main>
        <header>
          <h1>copilotedge behind CopilotKit</h1>
          <p>
            CopilotKit&apos;s chat; its runtime&apos;s agent is copilotedge over AG-UI. Ask it to
            set the background in a colour (&ldquo;Set the background in Lavender&rdquo;).
          </p>
        </header>
        <div className="chat">
          <CopilotChat />
        </div>
      </main>
    </CopilotKitProvider>
  )
}
