// Turns what the hook reports (the server's error answer, an in-stream error event, a cut-off
// stream, a network failure) into words for a person: never raw JSON.
import {
  CopilotContentTypeError,
  CopilotHTTPError,
  CopilotStreamError,
  CopilotTruncatedError,
} from 'copilotedge/react'

export interface ErrorDescription {
  title: string
  detail: string
}

function httpTitle(status: number): string {
  if (status === 429) return 'Too many requests'
  if (status === 502) return 'The AI service failed to answer'
  if (status === 503) return 'The AI service is unavailable'
  if (status === 504) return 'The AI service took too long'
  if (status >= 500) return 'The server failed'
  return 'The request was refused'
}

export function describeError(error: unknown): ErrorDescription {
  if (error instanceof CopilotHTTPError) {
    // `message` is the server's own sentence from its OpenAI error body.
    let detail = error.message
    const retryAfter = Number(error.headers.get('retry-after'))
    if (error.status === 429 && retryAfter > 0)
      detail += ` Try again in ${Math.ceil(retryAfter)} s.`
    return { title: httpTitle(error.status), detail }
  }
  if (error instanceof CopilotStreamError) {
    return { title: 'The answer failed part-way', detail: error.message }
  }
  if (error instanceof CopilotTruncatedError) {
    return {
      title: 'The answer was cut off',
      detail: 'The connection ended before the answer was complete. Try again.',
    }
  }
  if (error instanceof CopilotContentTypeError) {
    return {
      title: 'Unexpected answer from the server',
      detail: `${error.message}. Is /api/copilot served by the copilotedge handler?`,
    }
  }
  if (error instanceof TypeError) {
    return {
      title: 'Could not reach the server',
      detail: 'The network request failed. Check that the app is still running, then try again.',
    }
  }
  const message = error instanceof Error && error.message ? error.message : 'Something went wrong.'
  return { title: 'The answer could not be completed', detail: message }
}
