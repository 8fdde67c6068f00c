import type { Metadata } from 'next'
import type { ReactNode } from 'react'
import '@copilotkit/react-core/v2/styles.css'
import './globals.css'

export const metadata: Metadata = {
  title: 'copilotedge · CopilotKit',
  description: "CopilotKit's chat with copilotedge as its AG-UI agent.",
}

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  )
}
