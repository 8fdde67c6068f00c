import type { ResolvedConfig } from '../config'
import { APIError } from '../errors'
import type { Provider } from './provider'
import { createWorkersAIProvider } from './workers-ai'

/**
 * `config.provider`, else the Workers AI REST provider built from the credentials. Called per
 * request (never at construction, which `next build` runs): missing credentials are a server
 * misconfiguration, answered 502 naming the settings and env vars to set.
 */
export function defaultProvider(config: ResolvedConfig): Provider {
  const { provider, apiKey, accountId, baseURL, gateway, fetch } = config
  if (provider) return provider
  if (!apiKey || !accountId) {
    const missing = [
      ...(apiKey ? [] : ['`apiKey` (or env CLOUDFLARE_API_TOKEN)']),
      ...(accountId ? [] : ['`accountId` (or env CLOUDFLARE_ACCOUNT_ID)']),
    ]
    throw new APIError(
      `CopilotEdge is not configured: set ${missing.join(' and ')}, or pass a \`provider\`.`,
      { status: 502, type: 'upstream_error', code: 'missing_credentials' },
    )
  }
  return createWorkersAIProvider({
    accountId,
    apiKey,
    baseURL,
    ...(gateway ? { gateway } : {}),
    ...(fetch ? { fetch } : {}),
  })
}
