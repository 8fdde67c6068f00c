import type {
  CompletingProvider,
  CompletionResult,
  ProviderRequest,
  UpstreamEvent,
} from './provider'
import { forwardParams } from './wire/generation-params'
import { completionFromJSONBody, eventsFromResponse } from './wire/stream-response'
import type { FetchLike } from './wire/upstream-http'
import { postJSON, readJSON } from './wire/upstream-http'
import type { UpstreamResponse } from './wire/upstream-transport'
import { defaultTransport } from './wire/upstream-transport'

export interface OpenAICompatibleProviderOptions {
  /** The API base, e.g. `http://127.0.0.1:11434/v1` (Ollama), `http://127.0.0.1:8000/v1` (vLLM). */
  baseURL: string
  /** Sent as `Authorization: Bearer <apiKey>` when set (local servers usually need none). */
  apiKey?: string
  /** Extra headers on every request (they win over the defaults). */
  headers?: Record<string, string>
  /**
   * Fetch implementation. Default: `globalThis.fetch`, or on Node, while that is Node's own, node:http
   * with a keep-alive pool (the same requests, less CPU).
   */
  fetch?: FetchLike
  /** Name for logs and error messages, default `openai-compatible`. */
  name?: string
}

/**
 * Any server that speaks OpenAI Chat Completions: `POST {baseURL}/chat/completions`. Ollama, vLLM,
 * llama.cpp server, OpenAI itself. Never retries; the engine does.
 */
export function createOpenAICompatibleProvider(
  options: OpenAICompatibleProviderOptions,
): CompletingProvider {
  if (typeof options.baseURL !== 'string' || options.baseURL === '') {
    throw new TypeError('createOpenAICompatibleProvider: `baseURL` is required')
  }
  const url = `${options.baseURL.replace(/\/+$/, '')}/chat/completions`
  const name = options.name ?? 'openai-compatible'
  const transport = options.fetch ?? defaultTransport
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`
  Object.assign(headers, options.headers)
  const secret = options.apiKey || undefined

  const post = (request: ProviderRequest, stream: boolean): Promise<UpstreamResponse> => {
    const body: Record<string, unknown> = {
      model: request.model,
      messages: request.messages,
      stream,
    }
    forwardParams(body, request.params)
    // Without it OpenAI-style servers send no usage at all in a stream.
    if (stream) body.stream_options = { include_usage: true }
    return postJSON({
      transport,
      url,
      headers: { ...headers },
      body,
      signal: request.signal,
      label: name,
      secret,
    })
  }

  return {
    name,
    async complete(request: ProviderRequest): Promise<CompletionResult> {
      const response = await post(request, false)
      const body = await readJSON(response, { signal: request.signal, label: name })
      return completionFromJSONBody(body, { label: name, secret })
    },
    async stream(request: ProviderRequest): Promise<AsyncIterable<UpstreamEvent>> {
      const response = await post(request, true)
      return eventsFromResponse(response, { signal: request.signal, label: name, secret })
    },
  }
}
