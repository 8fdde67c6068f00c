import type { CopilotStatus } from 'copilotedge/react'

/** `312 ms` under a second, `2.4 s` above. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`
}

/** What the status line says for each of the hook's statuses. */
export function statusLabel(status: CopilotStatus): string {
  switch (status) {
    case 'connecting':
      return 'Connecting…'
    case 'streaming':
      return 'Streaming…'
    case 'reconnecting':
      return 'Reconnecting…'
    case 'done':
      return 'Done'
    case 'aborted':
      return 'Stopped'
    case 'error':
      return 'Failed'
    default:
      return 'Ready'
  }
}
