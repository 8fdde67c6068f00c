import { CopilotPage } from './copilot-page'

export default function Home() {
  return <CopilotPage />
}
