function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Which 1.0 media part a MIME type becomes. */
function partType(mimeType: string): 'image' | 'audio' | 'video' | 'document' {
  if (mimeType.startsWith('image/')) return 'image'
  if (mimeType.startsWith('audio/')) return 'audio'
  if (mimeType.startsWith('video/')) return 'video'
  return 'document'
}

/** A pre-1.0 `{type:"binary", mimeType, data | url}` part as its 1.0 media part; others as they are. */
function upgradePart(part: unknown): unknown {
  if (!isObject(part) || part.type !== 'binary' || typeof part.mimeType !== 'string') return part
  const { mimeType } = part
  if (typeof part.data === 'string') {
    return { type: partType(mimeType), source: { type: 'data', value: part.data, mimeType } }
  }
  if (typeof part.url === 'string') {
    return { type: partType(mimeType), source: { type: 'url', value: part.url, mimeType } }
  }
  return part
}

/**
 * Clients before AG-UI 1.0 (CopilotKit 1.50 ships @ag-ui/client 0.0.42) send attachments in user
 * messages as `binary` parts, which the 1.0 schema no longer knows; 1.0 clients convert them the
 * same way before sending. Runs before the schema, so it only touches what it recognises and
 * copies instead of mutating the parsed body.
 */
export function upgradeLegacyParts(body: Record<string, unknown>): Record<string, unknown> {
  const { messages } = body
  if (!Array.isArray(messages)) return body
  let changed = false
  const upgraded = messages.map((message) => {
    if (!isObject(message) || message.role !== 'user' || !Array.isArray(message.content)) {
      return message
    }
    if (!message.content.some((part) => isObject(part) && part.type === 'binary')) return message
    changed = true
    return { ...message, content: message.content.map(upgradePart) }
  })
  return changed ? { ...body, messages: upgraded } : body
}
