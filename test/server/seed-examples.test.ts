// Every API the user's document (seed-streaming-support.md) shows, run as shown. Only what the
// document leaves to the reader is filled in: the helpers it calls (processChunk, saveToBuffer, …),
// an upstream (global fetch stubbed, since the examples pass no baseURL) and the env vars.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { CopilotEdge, createCopilotEdgeHandler } from '../../src/server'
import { workersAIFetch } from './helpers/workers-ai-fetch'

const upstream = workersAIFetch((model) =>
  model === '@cf/meta/llama-3.1-8b-instruct'
    ? ['Hello', ' from', ' the', ' edge']
    : { status: 400, code: 5007, message: 'No such model' },
)
let handlerUnderTest: ((request: Request) => Promise<Response>) | undefined

beforeEach(() => {
  upstream.calls.length = 0
  process.env.CLOUDFLARE_API_TOKEN = 'env-token'
  process.env.CLOUDFLARE_ACCOUNT_ID = 'env-account'
  // Relative `/api/copilot` (the document's client code) goes to the handler; the rest upstream.
  vi.stubGlobal('fetch', (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input)
    if (url.startsWith('/api/copilot'))
      return handlerUnderTest!(new Request(new URL(url, 'http://localhost'), init))
    return upstream.fetch(input, init)
  })
})
afterEach(() => {
  vi.unstubAllGlobals()
  delete process.env.CLOUDFLARE_API_TOKEN
  delete process.env.CLOUDFLARE_ACCOUNT_ID
})

const FULL = 'Hello from the edge'

describe("the user's streaming document, verbatim", () => {
  it('Quick Start: Basic Streaming Setup', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {})
    const edge = new CopilotEdge({
      apiKey: 'your-cloudflare-api-key',
      accountId: 'your-account-id',
      stream: true, // Enable streaming
      onChunk: (chunk) => {
        console.log('Received chunk:', chunk)
      },
    })
    const response = await edge.handleRequest({ messages: [{ role: 'user', content: 'Hi' }] })
    expect(await response.getFullResponse()).toBe(FULL)
    expect(log.mock.calls).toEqual([
      ['Received chunk:', 'Hello'],
      ['Received chunk:', ' from'],
      ['Received chunk:', ' the'],
      ['Received chunk:', ' edge'],
    ])
    expect(upstream.calls[0]!.url).toBe(
      'https://api.cloudflare.com/client/v4/accounts/your-account-id/ai/run/@cf/meta/llama-3.1-8b-instruct',
    )
    expect(upstream.calls[0]!.authorization).toBe('Bearer your-cloudflare-api-key')
    log.mockRestore()
  })

  it('With Next.js API Route', async () => {
    // app/api/copilot/route.ts
    const runtime = 'edge' // Use edge runtime for best performance

    const handler = createCopilotEdgeHandler({
      apiKey: process.env.CLOUDFLARE_API_TOKEN,
      accountId: process.env.CLOUDFLARE_ACCOUNT_ID,
      stream: true, // Enable streaming by default
    })

    const POST = handler

    expect(runtime).toBe('edge')
    const response = await POST(
      new Request('http://localhost/api/copilot', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }] }),
      }),
    )
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    const body = await response.text()
    expect(body).toContain('"content":" edge"')
    expect(body.endsWith('data: [DONE]\n\n')).toBe(true)
  })

  it('Instance-Level Streaming, Per-Request Streaming and the Smart Behavior examples', async () => {
    const processed: string[] = []
    const processChunk = async (chunk: string) => {
      processed.push(chunk)
    }
    const edge = new CopilotEdge({
      stream: true, // Enable streaming for all requests
      onChunk: async (chunk) => {
        // Process each chunk as it arrives
        await processChunk(chunk)
      },
    })

    // Override instance configuration per request
    const response = await edge.handleRequest({
      messages: [{ role: 'user', content: 'Hello' }],
      stream: true, // Enable streaming just for this request
    })
    expect(response.streaming).toBe(true)
    expect(response.object).toBe('chat.completion.chunk')
    expect(await response.getFullResponse()).toBe(FULL)
    expect(processed.join('')).toBe(FULL)

    // Use cache for common queries
    const cachedResponse = await edge.handleRequest({
      messages: [{ role: 'user', content: 'What is JavaScript?' }],
      stream: false, // Use cache if available
    })

    // Stream for unique, creative content
    const streamedResponse = await edge.handleRequest({
      messages: [{ role: 'user', content: 'Write me a unique story' }],
      stream: true, // Always stream for fresh content
    })

    expect(cachedResponse.object).toBe('chat.completion')
    expect(cachedResponse.choices[0]!.message.content).toBe(FULL)
    const again = await edge.handleRequest({
      messages: [{ role: 'user', content: 'What is JavaScript?' }],
      stream: false,
    })
    expect(again.choices[0]!.message.content).toBe(FULL)
    expect(edge.getMetrics().cacheHits).toBe(1)
    let streamed = ''
    for await (const chunk of streamedResponse.stream) streamed += chunk
    expect(streamed).toBe(FULL)
  })

  it('Client-Side Consumption: Using Fetch with Streaming', async () => {
    type Message = { role: 'user' | 'assistant' | 'system'; content: string }
    handlerUnderTest = createCopilotEdgeHandler({ apiKey: 'k', accountId: 'a' })
    const log = vi.spyOn(console, 'log').mockImplementation(() => {})

    async function streamChat(messages: Message[]) {
      const response = await fetch('/api/copilot', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          messages,
          stream: true,
        }),
      })

      if (!response.body) return

      const reader = response.body.getReader()
      const decoder = new TextDecoder()

      while (true) {
        const { done, value } = await reader.read()
        if (done) break

        const chunk = decoder.decode(value)
        const lines = chunk.split('\n')

        for (const line of lines) {
          if (line.startsWith('data: ')) {
            const data = line.slice(6)
            if (data === '[DONE]') break

            const parsed = JSON.parse(data)
            const content = parsed.choices[0]?.delta?.content
            if (content) {
              // Update UI with new content
              console.log(content)
            }
          }
        }
      }
    }

    await streamChat([{ role: 'user', content: 'Hi' }])
    expect(log.mock.calls.map((c) => c[0]).join('')).toBe(FULL)
    log.mockRestore()
  })

  it('Advanced Usage: Custom Stream Processing (both options, one after the other)', async () => {
    const buffer: string[] = []
    const progress: number[] = []
    const broadcast: string[] = []
    const saveToBuffer = async (c: string) => void buffer.push(c)
    const updateProgressBar = async (n: number) => void progress.push(n)
    const broadcastToWebSocket = async (c: string) => void broadcast.push(c)
    const written: string[] = []
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((c) => {
      written.push(String(c))
      return true
    })

    const edge = new CopilotEdge({
      stream: true,
      onChunk: async (chunk) => {
        // Custom processing for each chunk
        await saveToBuffer(chunk)
        await updateProgressBar(chunk.length)
        await broadcastToWebSocket(chunk)
      },
    })

    const response = await edge.handleRequest({
      messages: [{ role: 'user', content: 'Generate a story' }],
    })

    // Option 1: Consume the stream
    for await (const chunk of response.stream) {
      process.stdout.write(chunk)
    }

    // Option 2: Get complete response
    const fullText = await response.getFullResponse()
    write.mockRestore()
    console.log('Complete response:', fullText)

    expect(written.join('')).toBe(FULL)
    expect(fullText).toBe(FULL)
    expect(buffer.join('')).toBe(FULL)
    expect(progress).toEqual([5, 5, 4, 5])
    expect(broadcast).toHaveLength(4)
    expect(upstream.calls).toHaveLength(1)
  })

  it('Error Handling', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    const edge = new CopilotEdge({ model: '@cf/meta/llama-3.1-70b', stream: true })
    try {
      const response = await edge.handleRequest({
        messages: [{ role: 'user', content: 'Hello' }],
        stream: true,
      })

      // biome-ignore lint/correctness/noUnusedVariables: the document's code, verbatim
      for await (const chunk of response.stream) {
        // Process chunks
      }
      // biome-ignore lint/suspicious/noExplicitAny: the document's code, verbatim
    } catch (error: any) {
      if (error.name === 'APIError') {
        console.error('Cloudflare API error:', error.message)
      } else {
        console.error('Streaming error:', error)
      }
    }
    expect(errors.mock.calls[0]![0]).toBe('Cloudflare API error:')
    expect(errors.mock.calls[0]![1]).toContain('`model`')
    errors.mockRestore()
  })

  it('Migration Guide: non-streaming stays the default; both ways to enable streaming', async () => {
    // This still works exactly the same (non-streaming, with caching)
    const edge = new CopilotEdge({
      apiKey: 'key',
      accountId: 'account',
    })
    const plain = await edge.handleRequest({ messages: [{ role: 'user', content: 'Hi' }] })
    expect(plain.object).toBe('chat.completion')

    // Option 1: Enable globally
    const streaming = new CopilotEdge({
      apiKey: 'key',
      accountId: 'account',
      stream: true, // Add this line
    })
    const viaConfig = await streaming.handleRequest({ messages: [{ role: 'user', content: 'Hi' }] })
    expect(await viaConfig.getFullResponse()).toBe(FULL)

    // Option 2: Enable per-request
    const response = await edge.handleRequest({
      messages: [{ role: 'user', content: 'Hi again' }],
      stream: true, // Or add here
    })
    expect(response.streaming).toBe(true)
    expect(await response.getFullResponse()).toBe(FULL)
  })

  it('Best Practices: buffer management and side-effect callbacks; Debug Mode', async () => {
    const analytics = {
      events: [] as unknown[],
      track: async (name: string, data: unknown) => void analytics.events.push([name, data]),
    }
    const debugLines = vi.spyOn(console, 'log').mockImplementation(() => {})
    const debugConsole = vi.spyOn(console, 'debug').mockImplementation(() => {})
    const edge = new CopilotEdge({
      debug: true, // Enable debug logging
      stream: true,
      onChunk: (chunk) => {
        console.log('[DEBUG] Chunk received:', chunk.length, 'bytes')
      },
    })
    const tracked = new CopilotEdge({
      stream: true,
      onChunk: async (chunk) => {
        await analytics.track('chunk_received', { size: chunk.length })
      },
    })
    const updates: string[] = []
    const updateUI = (text: string) => updates.push(text)
    const response = await edge.handleRequest({ messages: [{ role: 'user', content: 'Hi' }] })

    let buffer = ''
    for await (const chunk of response.stream) {
      buffer += chunk
      if (buffer.includes('\n') || buffer.length > 100) {
        updateUI(buffer)
        buffer = ''
      }
    }
    expect(buffer).toBe(FULL)
    expect(debugLines.mock.calls).toContainEqual(['[DEBUG] Chunk received:', 5, 'bytes'])
    await (
      await tracked.handleRequest({ messages: [{ role: 'user', content: 'Hi' }] })
    ).getFullResponse()
    expect(analytics.events).toContainEqual(['chunk_received', { size: 5 }])
    debugLines.mockRestore()
    debugConsole.mockRestore()
  })
})
