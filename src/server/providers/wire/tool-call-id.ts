const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'

/**
 * A tool-call id for upstreams that send none (legacy `{name, arguments}` calls). Nine
 * alphanumerics because Mistral-3 and Llama-4 schemas only accept `[a-zA-Z0-9]{9}` back as
 * `tool_call_id` (wire-formats §1.2).
 */
export function createToolCallId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(9))
  let id = ''
  for (const byte of bytes) id += ALPHABET[byte % ALPHABET.length]
  return id
}
