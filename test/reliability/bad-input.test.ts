// Malformed requests over real loopback HTTP: every one gets a 4xx with a readable OpenAI error
// body, never a 5xx, never an upstream call, and the server answers a good request right after.
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCopilotEdgeHandler } from '../../src/server'
import { createWorkersAIEmulator, type EmulatorServer } from '../../src/testing'
import { serveHandler } from '../helpers/serve-handler'
import { endlessRequest, type RawResponse, rawRequest } from './http'

const MODEL = '@cf/meta/llama-3.1-8b-instruct'
const OTHER = '@cf/meta/llama-3.2-3b-instruct'
const JSON_HEADERS = { 'Content-Type': 'application/json' }
const user = (content: unknown) => ({ role: 'user', content })
const ok = { messages: [user('hi')] }

interface Case {
  name: string
  method?: string
  headers?: Record<string, string>
  /** An object is JSON-encoded; a string or Buffer is sent as is; undefined sends no body. */
  body?: unknown
  status: number
  /** Expected `error.param` (exact), or a RegExp it must match. Omitted: any value. */
  param?: string | RegExp | null
}

// Built as text: JSON.stringify itself overflows the stack on values this deep.
const deepArrays = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`
const deepSchema = (depth: number) =>
  `${'{"type":"object","properties":{"a":'.repeat(depth)}{"type":"object"}${'}}'.repeat(depth)}`
const withTool = (parameters: string) =>
  `{"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":${parameters}}}]}`

const cases: Case[] = [
  // The body as a whole
  {
    name: 'truncated JSON',
    body: '{"messages":[{"role":"user","content":"hi"',
    status: 400,
    param: null,
  },
  { name: 'not JSON at all', body: 'hello there', status: 400, param: null },
  { name: 'an empty body', body: '', status: 400, param: null },
  { name: 'only whitespace', body: ' \n\t ', status: 400, param: null },
  { name: 'JSON null', body: 'null', status: 400, param: null },
  { name: 'a JSON array', body: '[{"role":"user","content":"hi"}]', status: 400, param: null },
  { name: 'a JSON string', body: '"hi"', status: 400, param: null },
  { name: 'a JSON number', body: '42', status: 400, param: null },
  { name: 'JSON true', body: 'true', status: 400, param: null },
  { name: 'two JSON documents', body: '{"messages":[]}{"messages":[]}', status: 400, param: null },
  { name: 'a single quoted pseudo-JSON', body: "{'messages':[]}", status: 400, param: null },
  {
    name: 'bytes that are not UTF-8',
    body: Buffer.concat([
      Buffer.from('{"messages":[{"role":"user","content":"'),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('"}]}'),
    ]),
    status: 400,
    param: null,
  },
  { name: 'a UTF-16 body', body: Buffer.from(JSON.stringify(ok), 'utf16le'), status: 400 },
  {
    name: 'a UTF-16 body that says charset=utf-16',
    headers: { 'Content-Type': 'application/json; charset=utf-16' },
    body: Buffer.from(JSON.stringify(ok), 'utf16le'),
    status: 400,
    param: null,
  },
  {
    name: 'a Latin-1 body that says so',
    headers: { 'Content-Type': 'application/json; charset=iso-8859-1' },
    body: Buffer.from('{"messages":[{"role":"user","content":"caf\xe9"}]}', 'latin1'),
    status: 400,
    param: null,
  },
  {
    name: 'a gzip-compressed body (never inflated: no decompression bomb)',
    headers: { 'Content-Encoding': 'gzip' },
    body: gzipSync(JSON.stringify(ok)),
    status: 400,
    param: null,
  },
  // messages
  { name: 'no messages', body: {}, status: 400, param: 'messages' },
  { name: 'messages null', body: { messages: null }, status: 400, param: 'messages' },
  { name: 'messages a string', body: { messages: 'hi' }, status: 400, param: 'messages' },
  {
    name: 'messages an object',
    body: { messages: { 0: user('hi') } },
    status: 400,
    param: 'messages',
  },
  { name: 'messages empty', body: { messages: [] }, status: 400, param: 'messages' },
  { name: 'a null message', body: { messages: [null] }, status: 400, param: 'messages[0]' },
  { name: 'a string message', body: { messages: ['hi'] }, status: 400, param: 'messages[0]' },
  {
    name: 'a message with no role',
    body: { messages: [{ content: 'hi' }] },
    status: 400,
    param: 'messages[0].role',
  },
  {
    name: 'an unknown role',
    body: { messages: [{ role: 'wizard', content: 'hi' }] },
    status: 400,
    param: 'messages[0].role',
  },
  {
    name: 'a numeric role',
    body: { messages: [{ role: 1, content: 'hi' }] },
    status: 400,
    param: 'messages[0].role',
  },
  {
    name: 'role "constructor"',
    body: { messages: [{ role: 'constructor', content: 'hi' }] },
    status: 400,
    param: 'messages[0].role',
  },
  {
    name: 'role "__proto__"',
    body: '{"messages":[{"role":"__proto__","content":"hi"}]}',
    status: 400,
    param: 'messages[0].role',
  },
  {
    name: 'role "toString"',
    body: { messages: [{ role: 'toString', content: 'hi' }] },
    status: 400,
    param: 'messages[0].role',
  },
  {
    name: 'a user message with no content',
    body: { messages: [{ role: 'user' }] },
    status: 400,
    param: 'messages[0].content',
  },
  {
    name: 'numeric content',
    body: { messages: [user(42)] },
    status: 400,
    param: 'messages[0].content',
  },
  {
    name: 'object content',
    body: { messages: [user({ text: 'hi' })] },
    status: 400,
    param: 'messages[0].content',
  },
  {
    name: 'an unknown content part',
    body: { messages: [user([{ type: 'video', url: 'x' }])] },
    status: 400,
    param: /^messages\[0\]\.content\[0\]/,
  },
  {
    name: 'a text part without text',
    body: { messages: [user([{ type: 'text', text: 5 }])] },
    status: 400,
    param: /^messages\[0\]\.content\[0\]/,
  },
  {
    name: 'a bad image detail',
    body: { messages: [user([{ type: 'image_url', image_url: { url: 'u', detail: 'max' } }])] },
    status: 400,
    param: /^messages\[0\]\.content\[0\]/,
  },
  {
    name: 'a numeric name',
    body: { messages: [{ role: 'user', content: 'hi', name: 1 }] },
    status: 400,
    param: 'messages[0].name',
  },
  {
    name: 'a tool message without tool_call_id',
    body: { messages: [user('hi'), { role: 'tool', content: '42' }] },
    status: 400,
    param: 'messages[1].tool_call_id',
  },
  {
    name: 'a tool message with an empty tool_call_id',
    body: { messages: [user('hi'), { role: 'tool', content: '42', tool_call_id: '' }] },
    status: 400,
    param: 'messages[1].tool_call_id',
  },
  {
    name: 'tool_calls that are not an array',
    body: { messages: [user('hi'), { role: 'assistant', content: null, tool_calls: 'call' }] },
    status: 400,
    param: /^messages\[1\]\.tool_calls/,
  },
  {
    name: 'tool_calls on a user message',
    body: { messages: [{ role: 'user', content: 'hi', tool_calls: [] }] },
    status: 400,
    param: /^messages\[0\]\.tool_calls/,
  },
  {
    name: 'a message own-less behind __proto__',
    body: '{"messages":[{"__proto__":{"role":"user","content":"hi"}}]}',
    status: 400,
    param: 'messages[0].role',
  },
  {
    name: 'messages only behind __proto__',
    body: '{"__proto__":{"messages":[{"role":"user","content":"hi"}]}}',
    status: 400,
    param: 'messages',
  },
  {
    name: 'messages only behind constructor.prototype',
    body: '{"constructor":{"prototype":{"messages":[{"role":"user","content":"hi"}]}}}',
    status: 400,
    param: 'messages',
  },
  {
    name: 'content nested 100,000 arrays deep',
    body: `{"messages":[{"role":"user","content":${deepArrays(100_000)}}]}`,
    status: 400,
    param: /^messages\[0\]\.content/,
  },
  {
    name: 'tool parameters nested 10,000 levels deep',
    body: withTool(deepSchema(10_000)),
    status: 400,
    param: /^tools\[0\]/,
  },
  {
    name: 'tool parameters holding arrays 100,000 deep',
    body: withTool(`{"type":"object","default":${deepArrays(100_000)}}`),
    status: 400,
    param: /^tools\[0\]/,
  },
  // model
  { name: 'a numeric model', body: { ...ok, model: 7 }, status: 400, param: 'model' },
  {
    name: 'a model not in the allow-list',
    body: { ...ok, model: '@cf/meta/llama-3.3-70b-instruct-fp8-fast' },
    status: 400,
    param: 'model',
  },
  {
    name: 'model "constructor"',
    body: { ...ok, model: 'constructor' },
    status: 400,
    param: 'model',
  },
  { name: 'model "__proto__"', body: { ...ok, model: '__proto__' }, status: 400, param: 'model' },
  { name: 'an empty model', body: { ...ok, model: '' }, status: 400, param: 'model' },
  // generation parameters, wrong types and ranges
  { name: 'stream a string', body: { ...ok, stream: 'yes' }, status: 400, param: 'stream' },
  {
    name: 'stream_options a string',
    body: { ...ok, stream: true, stream_options: 'usage' },
    status: 400,
    param: 'stream_options',
  },
  {
    name: 'include_usage a string',
    body: { ...ok, stream: true, stream_options: { include_usage: 'y' } },
    status: 400,
    param: 'stream_options.include_usage',
  },
  {
    name: 'temperature a string',
    body: { ...ok, temperature: 'hot' },
    status: 400,
    param: 'temperature',
  },
  {
    name: 'temperature negative',
    body: { ...ok, temperature: -1 },
    status: 400,
    param: 'temperature',
  },
  { name: 'top_p above 1', body: { ...ok, top_p: 2 }, status: 400, param: 'top_p' },
  {
    name: 'max_tokens negative',
    body: { ...ok, max_tokens: -1 },
    status: 400,
    param: 'max_tokens',
  },
  {
    name: 'max_tokens fractional',
    body: { ...ok, max_tokens: 1.5 },
    status: 400,
    param: 'max_tokens',
  },
  {
    name: 'max_tokens a numeric string',
    body: { ...ok, max_tokens: '100' },
    status: 400,
    param: 'max_tokens',
  },
  {
    name: 'max_completion_tokens zero',
    body: { ...ok, max_completion_tokens: 0 },
    status: 400,
    param: 'max_completion_tokens',
  },
  { name: 'seed a string', body: { ...ok, seed: 'x' }, status: 400, param: 'seed' },
  {
    name: 'seed beyond safe integers',
    body: '{"messages":[{"role":"user","content":"hi"}],"seed":1e300}',
    status: 400,
    param: 'seed',
  },
  { name: 'stop a number', body: { ...ok, stop: 42 }, status: 400, param: 'stop' },
  { name: 'stop with numbers', body: { ...ok, stop: [1, 2] }, status: 400, param: 'stop' },
  {
    name: 'stop with five strings',
    body: { ...ok, stop: ['a', 'b', 'c', 'd', 'e'] },
    status: 400,
    param: 'stop',
  },
  {
    name: 'frequency_penalty a string',
    body: { ...ok, frequency_penalty: 'x' },
    status: 400,
    param: 'frequency_penalty',
  },
  {
    name: 'presence_penalty out of range',
    body: { ...ok, presence_penalty: 10 },
    status: 400,
    param: 'presence_penalty',
  },
  { name: 'tools a string', body: { ...ok, tools: 'search' }, status: 400, param: 'tools' },
  {
    name: 'a tool with no function',
    body: { ...ok, tools: [{ type: 'function' }] },
    status: 400,
    param: /^tools\[0\]/,
  },
  {
    name: 'a tool with array parameters',
    body: { ...ok, tools: [{ type: 'function', function: { name: 'f', parameters: [] } }] },
    status: 400,
    param: /^tools\[0\]/,
  },
  {
    name: 'tool_choice a number',
    body: { ...ok, tool_choice: 42 },
    status: 400,
    param: 'tool_choice',
  },
  {
    name: 'tool_choice an unknown word',
    body: { ...ok, tool_choice: 'always' },
    status: 400,
    param: 'tool_choice',
  },
  { name: 'cache a string', body: { ...ok, cache: 'no' }, status: 400, param: 'cache' },
  // size limits
  {
    name: '501 messages',
    body: { messages: Array.from({ length: 501 }, () => user('hi')) },
    status: 413,
    param: 'messages',
  },
  {
    name: 'a message of 100,001 characters',
    body: { messages: [user('x'.repeat(100_001))] },
    status: 413,
    param: 'messages[0].content',
  },
  {
    name: 'text parts adding up past 100,000 characters',
    body: {
      messages: [
        user([
          { type: 'text', text: 'x'.repeat(60_000) },
          { type: 'text', text: 'y'.repeat(60_000) },
        ]),
      ],
    },
    status: 413,
    param: 'messages[0].content',
  },
  {
    name: 'a body over 1 MiB',
    body: { messages: Array.from({ length: 12 }, () => user('x'.repeat(99_000))) },
    status: 413,
    param: null,
  },
  {
    name: 'a Content-Length over 1 MiB',
    headers: { 'Content-Length': String(5 * 1024 * 1024) },
    body: undefined,
    status: 413,
    param: null,
  },
  // method and content type
  { name: 'GET', method: 'GET', body: undefined, status: 405, param: null },
  { name: 'PUT', method: 'PUT', body: ok, status: 405, param: null },
  { name: 'DELETE', method: 'DELETE', body: undefined, status: 405, param: null },
  {
    name: 'text/plain',
    headers: { 'Content-Type': 'text/plain' },
    body: JSON.stringify(ok),
    status: 415,
    param: null,
  },
  {
    name: 'a form post',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'messages=hi',
    status: 415,
    param: null,
  },
  {
    name: 'multipart',
    headers: { 'Content-Type': 'multipart/form-data; boundary=x' },
    body: '--x--',
    status: 415,
    param: null,
  },
  {
    name: 'no content type',
    headers: { 'Content-Type': '' },
    body: JSON.stringify(ok),
    status: 415,
    param: null,
  },
  {
    name: 'application/jsonp',
    headers: { 'Content-Type': 'application/jsonp' },
    body: JSON.stringify(ok),
    status: 415,
    param: null,
  },
]

let upstream: EmulatorServer
let server: { origin: string; close(): Promise<void> }
const emulator = createWorkersAIEmulator({ reply: 'Hello from the emulator.' })

beforeAll(async () => {
  upstream = await emulator.listen({ port: 0 })
  const handler = createCopilotEdgeHandler({
    apiKey: emulator.apiToken,
    accountId: emulator.accountId,
    baseURL: upstream.baseURL,
    models: [MODEL, OTHER],
    retry: false,
    logger: { debug() {}, warn() {}, error() {} },
  })
  server = await serveHandler(handler)
})

afterAll(async () => {
  await server?.close()
  await upstream?.close()
})

function send(c: Case): Promise<RawResponse> {
  const body =
    c.body === undefined
      ? undefined
      : typeof c.body === 'string' || Buffer.isBuffer(c.body)
        ? c.body
        : JSON.stringify(c.body)
  const headers = { ...JSON_HEADERS, ...c.headers }
  if (headers['Content-Type'] === '') delete (headers as Record<string, string>)['Content-Type']
  return rawRequest(server.origin, { method: c.method ?? 'POST', headers, body })
}

async function expectGoodRequestServed(): Promise<void> {
  const res = await rawRequest(server.origin, { headers: JSON_HEADERS, body: JSON.stringify(ok) })
  expect(res.status).toBe(200)
  expect(JSON.parse(res.body).choices[0].message.content).toBe('Hello from the emulator.')
}

function expectOpenAIError(res: RawResponse, c: Pick<Case, 'status' | 'param'>): void {
  expect(res.status, res.body).toBe(c.status)
  expect(res.headers['content-type']).toMatch(/^application\/json/)
  const { error } = JSON.parse(res.body) as {
    error: { message: unknown; type: unknown; code: unknown; param: unknown }
  }
  expect(typeof error.message).toBe('string')
  expect((error.message as string).length).toBeGreaterThan(8)
  expect(error.message).not.toMatch(/undefined|\[object |at .*\.ts:\d+/)
  expect(error.type).toBe('invalid_request_error')
  expect(error).toHaveProperty('param')
  if (c.param instanceof RegExp) expect(error.param).toMatch(c.param)
  else if (c.param !== undefined) expect(error.param).toBe(c.param)
}

describe('bad input over loopback HTTP', () => {
  it(`covers at least 40 malformed requests (${cases.length + 1} here)`, () => {
    expect(cases.length + 1).toBeGreaterThanOrEqual(40)
  })

  for (const c of cases) {
    it(`answers ${c.status} to ${c.name}, then serves a good request`, async () => {
      const before = emulator.requests.length
      const res = await send(c)
      expectOpenAIError(res, c)
      if (c.status === 405) expect(res.headers.allow).toMatch(/POST/)
      expect(emulator.requests.length).toBe(before)
      await expectGoodRequestServed()
    })
  }

  it('answers 413 to a body with no Content-Length that never ends, without buffering it', async () => {
    const before = emulator.requests.length
    const res = await endlessRequest(server.origin)
    expectOpenAIError(res, { status: 413, param: null })
    // The answer came once the 1 MiB cap was passed, not after the sender gave up.
    expect(res.bytesSent).toBeLessThan(8 * 1024 * 1024)
    expect(emulator.requests.length).toBe(before)
    await expectGoodRequestServed()
  })

  it('never pollutes Object.prototype from request bodies', () => {
    expect(({} as Record<string, unknown>).messages).toBeUndefined()
    expect(({} as Record<string, unknown>).role).toBeUndefined()
  })

  it('answers a streaming request that is malformed with JSON, not SSE', async () => {
    const res = await rawRequest(server.origin, {
      headers: { ...JSON_HEADERS, Accept: 'text/event-stream' },
      body: JSON.stringify({ stream: true, messages: [{ role: 'wizard', content: 'x' }] }),
    })
    expectOpenAIError(res, { status: 400, param: 'messages[0].role' })
  })
})
