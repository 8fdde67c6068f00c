// Byte-exact upstream bodies for every stream shape in wire-formats §1.4 and §5.2, with the
// UpstreamEvents each must normalise to. Tool calls with no upstream id get a generated one; the
// expected events hold GENERATED_ID_MARKER there and tests check the id's pattern.
import type { UpstreamEvent } from '../../../src/server/providers/provider'

/** Placeholder in expected events for an id the normaliser generates. */
export const GENERATED_ID_MARKER = '<generated>'

export interface StreamFixture {
  name: string
  body: string
  events: UpstreamEvent[]
}

const usage = (p: number, c: number, t = p + c) => ({
  prompt_tokens: p,
  completion_tokens: c,
  total_tokens: t,
})

/** §1.4 native format: `response` tokens with `p` padding, the terminal usage frame, [DONE]. */
export const NATIVE: StreamFixture = {
  name: 'native frames with padding and the terminal usage frame',
  body:
    'data: {"response":"Hel","p":"abcdef"}\n\n' +
    'data: {"response":"lo","p":"x9"}\n\n' +
    'data: {"response":"","usage":{"prompt_tokens":21,"completion_tokens":14,"total_tokens":35}}\n\n' +
    'data: [DONE]\n\n',
  events: [
    { type: 'text', text: 'Hel' },
    { type: 'text', text: 'lo' },
    { type: 'usage', usage: usage(21, 14) },
    { type: 'finish', reason: 'stop' },
  ],
}

/** §1.4 native, with `neurons` in usage, emoji and CJK text, CRLF line endings. */
export const NATIVE_UNICODE_CRLF: StreamFixture = {
  name: 'native frames with emoji, CJK and CRLF line endings',
  body:
    'data: {"response":"こんにちは","p":"abc"}\r\n\r\n' +
    'data: {"response":" 👋🏽 世界","p":"q"}\r\n\r\n' +
    'data: {"response":"","usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7,"neurons":0.5}}\r\n\r\n' +
    'data: [DONE]\r\n\r\n',
  events: [
    { type: 'text', text: 'こんにちは' },
    { type: 'text', text: ' 👋🏽 世界' },
    { type: 'usage', usage: usage(3, 4) },
    { type: 'finish', reason: 'stop' },
  ],
}

/** §1.4 native tool calls: opening fragment, argument deltas, the null finalization sentinel. */
export const NATIVE_TOOL_CALLS: StreamFixture = {
  name: 'native tool-call fragments ending in the null sentinel',
  body:
    'data: {"tool_calls":[{"id":"call1","type":"function","index":0,"function":{"name":"get_weather"}}],"p":"ab"}\n\n' +
    'data: {"tool_calls":[{"index":0,"function":{"arguments":"{\\"city\\":"}}]}\n\n' +
    'data: {"tool_calls":[{"index":0,"function":{"arguments":"\\"London\\"}"}}]}\n\n' +
    'data: {"tool_calls":[{"id":null,"type":null,"index":0,"function":{"name":null,"arguments":""}}]}\n\n' +
    'data: {"tool_calls":[],"p":"abdefgh"}\n\n' +
    'data: {"response":"","usage":{"prompt_tokens":40,"completion_tokens":9,"total_tokens":49}}\n\n' +
    'data: [DONE]\n\n',
  events: [
    {
      type: 'tool-call',
      delta: {
        index: 0,
        id: 'call1',
        type: 'function',
        function: { name: 'get_weather', arguments: '' },
      },
    },
    { type: 'tool-call', delta: { index: 0, function: { arguments: '{"city":' } } },
    { type: 'tool-call', delta: { index: 0, function: { arguments: '"London"}' } } },
    { type: 'usage', usage: usage(40, 9) },
    { type: 'finish', reason: 'tool_calls' },
  ],
}

/** §1.4 quirks: arguments arriving whole (as an object) in the first chunk, a top-level finish_reason. */
export const NATIVE_WHOLE_ARGUMENTS: StreamFixture = {
  name: 'native tool call with whole object arguments and a top-level finish_reason, no [DONE]',
  body:
    'data: {"tool_calls":[{"id":"abcDEF123","type":"function","index":0,"function":{"name":"get_weather","arguments":{"city":"Paris"}}}]}\n\n' +
    'data: {"tool_calls":[{"index":1,"function":{"name":"get_time","arguments":"{}"}}]}\n\n' +
    'data: {"finish_reason":"tool_calls"}\n\n',
  events: [
    {
      type: 'tool-call',
      delta: {
        index: 0,
        id: 'abcDEF123',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
      },
    },
    {
      type: 'tool-call',
      delta: {
        index: 1,
        id: expectGeneratedId(),
        type: 'function',
        function: { name: 'get_time', arguments: '{}' },
      },
    },
    { type: 'finish', reason: 'tool_calls' },
  ],
}

/** A legacy whole call `{name, arguments: object}` inside a native stream. */
export const NATIVE_LEGACY_CALL: StreamFixture = {
  name: 'native legacy whole tool calls without index or id',
  body:
    'data: {"tool_calls":[{"name":"get_weather","arguments":{"city":"London"}}]}\n\n' +
    'data: {"tool_calls":[{"name":"get_time","arguments":{"tz":"UTC"}}]}\n\n' +
    'data: {"response":"","usage":{"prompt_tokens":5,"completion_tokens":6,"total_tokens":11}}\n\n' +
    'data: [DONE]\n\n',
  events: [
    {
      type: 'tool-call',
      delta: {
        index: 0,
        id: expectGeneratedId(),
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"London"}' },
      },
    },
    {
      type: 'tool-call',
      delta: {
        index: 1,
        id: expectGeneratedId(),
        type: 'function',
        function: { name: 'get_time', arguments: '{"tz":"UTC"}' },
      },
    },
    { type: 'usage', usage: usage(5, 6) },
    { type: 'finish', reason: 'tool_calls' },
  ],
}

/** §1.4 quirk: a Cloudflare fixture ends with a bare `[DONE]` line that has no `data:`. */
export const BARE_DONE: StreamFixture = {
  name: 'native frames ending in a bare [DONE] line without data:',
  body: 'data: {"response":"Hi","p":"abc"}\n\n[DONE]\n\n',
  events: [
    { type: 'text', text: 'Hi' },
    { type: 'finish', reason: 'stop' },
  ],
}

/** §1.4 OpenAI chunks on /ai/run: reasoning, cumulative usage everywhere, changing id, terminal frame. */
export const OPENAI_ON_RUN: StreamFixture = {
  name: 'OpenAI chunks on /ai/run with reasoning, cumulative usage and the terminal frame',
  body:
    'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1751570976,"model":"@cf/qwen/qwen3-30b-a3b-fp8","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":{"prompt_tokens":13,"total_tokens":13,"completion_tokens":0}}\n\n' +
    'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1751570976,"model":"@cf/qwen/qwen3-30b-a3b-fp8","choices":[{"index":0,"delta":{"reasoning_content":"Okay"},"finish_reason":null}],"usage":{"prompt_tokens":13,"total_tokens":14,"completion_tokens":1}}\n\n' +
    'data: {"id":"chatcmpl-2","object":"chat.completion.chunk","created":1751570976,"model":"@cf/qwen/qwen3-30b-a3b-fp8","choices":[{"index":0,"delta":{"reasoning":", so"},"finish_reason":null}],"usage":{"prompt_tokens":13,"total_tokens":15,"completion_tokens":2}}\n\n' +
    'data: {"id":"chatcmpl-2","object":"chat.completion.chunk","created":1751570976,"model":"@cf/qwen/qwen3-30b-a3b-fp8","choices":[{"index":0,"delta":{"content":"A"},"finish_reason":null}],"usage":{"prompt_tokens":13,"total_tokens":16,"completion_tokens":3}}\n\n' +
    'data: {"id":"chatcmpl-2","object":"chat.completion.chunk","created":1751570976,"model":"@cf/qwen/qwen3-30b-a3b-fp8","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n' +
    'data: {"id":"chatcmpl-2","object":"chat.completion.chunk","created":1751570976,"model":"@cf/qwen/qwen3-30b-a3b-fp8","choices":[],"usage":{"prompt_tokens":13,"completion_tokens":1022,"total_tokens":1035}}\n\n' +
    'data: {"response":"","usage":{"prompt_tokens":13,"completion_tokens":1022,"total_tokens":1035}}\n\n' +
    'data: [DONE]\n\n',
  events: [
    { type: 'reasoning', text: 'Okay' },
    { type: 'reasoning', text: ', so' },
    { type: 'text', text: 'A' },
    { type: 'usage', usage: usage(13, 1022) },
    { type: 'finish', reason: 'stop' },
  ],
}

/** §5.2 the openai-node snapshot sequence, with include_usage. */
export const OPENAI_SNAPSHOT: StreamFixture = {
  name: 'the OpenAI chunk sequence from the openai-node snapshot',
  body:
    'data: {"id":"chatcmpl-9tZ","object":"chat.completion.chunk","created":1723031665,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_845eaabc1f","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}\n\n' +
    'data: {"id":"chatcmpl-9tZ","object":"chat.completion.chunk","created":1723031665,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_845eaabc1f","choices":[{"index":0,"delta":{"content":"San"},"logprobs":null,"finish_reason":null}],"usage":null}\n\n' +
    'data: {"id":"chatcmpl-9tZ","object":"chat.completion.chunk","created":1723031665,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_845eaabc1f","choices":[{"index":0,"delta":{"content":" Francisco"},"logprobs":null,"finish_reason":null}],"usage":null}\n\n' +
    'data: {"id":"chatcmpl-9tZ","object":"chat.completion.chunk","created":1723031665,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_845eaabc1f","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}\n\n' +
    'data: {"id":"chatcmpl-9tZ","object":"chat.completion.chunk","created":1723031665,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_845eaabc1f","choices":[],"usage":{"prompt_tokens":17,"completion_tokens":10,"total_tokens":27}}\n\n' +
    'data: [DONE]\n\n',
  events: [
    { type: 'text', text: 'San' },
    { type: 'text', text: ' Francisco' },
    { type: 'usage', usage: usage(17, 10) },
    { type: 'finish', reason: 'stop' },
  ],
}

/** §5.2 OpenAI tool-call streaming, two parallel calls, ending with finish_reason tool_calls. */
export const OPENAI_TOOL_CALLS: StreamFixture = {
  name: 'OpenAI tool-call deltas for two parallel calls',
  body:
    'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_abc","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}\n\n' +
    'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"city\\":\\"Lo"}}]},"finish_reason":null}]}\n\n' +
    'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_def","type":"function","function":{"name":"get_time","arguments":""}}]},"finish_reason":null}]}\n\n' +
    'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ndon\\"}"}},{"index":1,"function":{"arguments":"{}"}}]},"finish_reason":null}]}\n\n' +
    'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}\n\n' +
    'data: [DONE]\n\n',
  events: [
    {
      type: 'tool-call',
      delta: {
        index: 0,
        id: 'call_abc',
        type: 'function',
        function: { name: 'get_weather', arguments: '' },
      },
    },
    { type: 'tool-call', delta: { index: 0, function: { arguments: '{"city":"Lo' } } },
    {
      type: 'tool-call',
      delta: {
        index: 1,
        id: 'call_def',
        type: 'function',
        function: { name: 'get_time', arguments: '' },
      },
    },
    { type: 'tool-call', delta: { index: 0, function: { arguments: 'ndon"}' } } },
    { type: 'tool-call', delta: { index: 1, function: { arguments: '{}' } } },
    { type: 'finish', reason: 'tool_calls' },
  ],
}

/** An OpenAI stream cut by max_tokens, without [DONE]: `length` is kept and the finish_reason ends it. */
export const OPENAI_LENGTH_NO_DONE: StreamFixture = {
  name: 'OpenAI chunks ending with finish_reason length and no [DONE]',
  body:
    'data: {"choices":[{"index":0,"delta":{"content":"Once upon"},"finish_reason":null}]}\n\n' +
    'data: {"choices":[{"index":0,"delta":{"content":" a"},"finish_reason":"length"}]}\n\n',
  events: [
    { type: 'text', text: 'Once upon' },
    { type: 'text', text: ' a' },
    { type: 'finish', reason: 'length' },
  ],
}

/** SSE framing variety: comments, event ids, a `data:` without space, CR-only line endings, BOM. */
export const FRAMING_VARIETY: StreamFixture = {
  name: 'framing with a BOM, comments, ids, data: without a space and CR-only line endings',
  body:
    '\uFEFF: keep-alive\n\n' +
    'id: 1\ndata:{"response":"a"}\n\n' +
    'data: {"response":"b"}\r\rdata: {"response":"","usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}\r\r',
  events: [
    { type: 'text', text: 'a' },
    { type: 'text', text: 'b' },
    { type: 'usage', usage: usage(1, 2) },
    { type: 'finish', reason: 'stop' },
  ],
}

export const ALL_FIXTURES: StreamFixture[] = [
  NATIVE,
  NATIVE_UNICODE_CRLF,
  NATIVE_TOOL_CALLS,
  NATIVE_WHOLE_ARGUMENTS,
  NATIVE_LEGACY_CALL,
  BARE_DONE,
  OPENAI_ON_RUN,
  OPENAI_SNAPSHOT,
  OPENAI_TOOL_CALLS,
  OPENAI_LENGTH_NO_DONE,
  FRAMING_VARIETY,
]

/** Generated tool-call ids: nine alphanumerics (what Mistral-3/Llama-4 accept back). */
export const GENERATED_ID = /^[a-zA-Z0-9]{9}$/

function expectGeneratedId(): string {
  return GENERATED_ID_MARKER
}

/** Replaces generated ids in `events` with the marker, after checking they look right. */
export function maskGeneratedIds(
  events: UpstreamEvent[],
  expected: UpstreamEvent[],
): UpstreamEvent[] {
  return events.map((event, i) => {
    const want = expected[i]
    if (
      event.type === 'tool-call' &&
      want?.type === 'tool-call' &&
      want.delta.id === GENERATED_ID_MARKER &&
      typeof event.delta.id === 'string' &&
      GENERATED_ID.test(event.delta.id)
    ) {
      return { ...event, delta: { ...event.delta, id: GENERATED_ID_MARKER } }
    }
    return event
  })
}
