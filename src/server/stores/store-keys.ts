/**
 * `<prefix>:v1:<kind>:`, the namespace of every shared store's keys (Redis keys, KV keys, Durable
 * Object names): versioned, so a future value format never reads an old one.
 */
export function keyPrefix(
  prefix: string | undefined,
  kind: 'cache' | 'ratelimit' | 'stream' | 'inflight' | 'conversation',
): string {
  return `${prefix ?? 'copilotedge'}:v1:${kind}:`
}
