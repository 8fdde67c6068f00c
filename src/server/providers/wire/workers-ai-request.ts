import type { ProviderRequest } from '../provider'
import { forwardParams, messagesWithoutNullContent } from './generation-params'

export const DEFAULT_WORKERS_AI_BASE_URL = 'https://api.cloudflare.com/client/v4'
export const AI_GATEWAY_BASE_URL = 'https://gateway.ai.cloudflare.com/v1'

/** Which Workers AI REST route to call. */
export type WorkersAIRoute = 'run' | 'openai'

/** Cloudflare AI Gateway in front of Workers AI (wire-formats §3). */
export interface WorkersAIGatewayOptions {
  /** The gateway's id (its name in the dashboard). */
  id: string
  /**
   * Gateway cache TTL in **seconds** (`cf-aig-cache-ttl`; the gateway's minimum is 60), like the
   * binding's `gateway.cacheTtl`. `0` turns the gateway cache off for these requests.
   */
  cacheTtl?: number
  /** `true` bypasses the gateway cache (`cf-aig-skip-cache: true`). */
  skipCache?: boolean
  /** Token of an authenticated gateway, sent as `cf-aig-authorization: Bearer <token>`. */
  authToken?: string
}

export interface WorkersAIEndpoint {
  accountId: string
  apiKey: string
  baseURL: string
  route: WorkersAIRoute
  gateway: WorkersAIGatewayOptions | undefined
}

/**
 * The URL for `model`. The model id goes into the path as-is, slashes and `@` included, as
 * Cloudflare's own client does (wire-formats §1.1); the engine only lets allow-listed ids through.
 */
export function workersAIURL(endpoint: WorkersAIEndpoint, model: string): string {
  const { accountId, gateway, route } = endpoint
  if (gateway !== undefined) {
    const base = `${AI_GATEWAY_BASE_URL}/${encodeURIComponent(accountId)}/${encodeURIComponent(gateway.id)}/workers-ai`
    return route === 'openai' ? `${base}/v1/chat/completions` : `${base}/${model}`
  }
  const base = `${endpoint.baseURL}/accounts/${encodeURIComponent(accountId)}/ai`
  return route === 'openai' ? `${base}/v1/chat/completions` : `${base}/run/${model}`
}

export function workersAIHeaders(endpoint: WorkersAIEndpoint): Record<string, string> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${endpoint.apiKey}`,
    'content-type': 'application/json',
  }
  const gateway = endpoint.gateway
  if (gateway !== undefined) {
    if (gateway.cacheTtl === 0 || gateway.skipCache === true) {
      headers['cf-aig-skip-cache'] = 'true'
    } else if (gateway.cacheTtl !== undefined) {
      headers['cf-aig-cache-ttl'] = String(Math.floor(gateway.cacheTtl))
    }
    if (gateway.authToken) {
      headers['cf-aig-authorization'] = /^bearer /i.test(gateway.authToken)
        ? gateway.authToken
        : `Bearer ${gateway.authToken}`
    }
  }
  return headers
}

/**
 * The JSON body. `/ai/run` takes the model in the path and never gets `stream_options` (native
 * schemas reject it; usage arrives in the terminal frame anyway); the OpenAI route takes the model
 * in the body and asks for usage explicitly.
 */
export function workersAIBody(
  route: WorkersAIRoute,
  request: ProviderRequest,
  stream: boolean,
): Record<string, unknown> {
  const body: Record<string, unknown> =
    route === 'openai' ? { model: request.model, messages: undefined } : { messages: undefined }
  body.messages = messagesWithoutNullContent(request.messages)
  body.stream = stream
  forwardParams(body, request.params)
  if (route === 'openai' && stream) body.stream_options = { include_usage: true }
  return body
}
