/**
 * The content coding a client accepts best, from the ones we can produce (`available`, in our order
 * of preference for ties), per RFC 9110 §12.5.3: `q=0` refuses a coding, `*` stands for any coding
 * not named, `x-gzip` is gzip. Undefined when the header is absent or accepts none of them (then
 * the answer goes unencoded, which every client accepts).
 */
export function chooseEncoding<E extends string>(
  acceptEncoding: string | null,
  available: readonly E[],
): E | undefined {
  if (!acceptEncoding) return undefined
  const weights = new Map<string, number>()
  for (const part of acceptEncoding.split(',')) {
    const [rawName, ...params] = part.split(';')
    let name = rawName?.trim().toLowerCase() ?? ''
    if (!name) continue
    if (name === 'x-gzip') name = 'gzip'
    let q = 1
    for (const param of params) {
      const [key, value] = param.split('=')
      if (key?.trim().toLowerCase() !== 'q') continue
      const parsed = Number(value?.trim())
      q = Number.isFinite(parsed) ? Math.min(Math.max(parsed, 0), 1) : 0
    }
    // The same coding named twice: the higher weight wins (a lenient reading of a malformed header).
    weights.set(name, Math.max(weights.get(name) ?? 0, q))
  }
  const any = weights.get('*')
  let best: E | undefined
  let bestQ = 0
  for (const encoding of available) {
    const q = weights.get(encoding) ?? any ?? 0
    if (q > bestQ) {
      best = encoding
      bestQ = q
    }
  }
  return best
}
