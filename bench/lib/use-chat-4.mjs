// The AI SDK's React hooks on their current major (@ai-sdk/react 4 over ai 7), for the hook suite's
// useChat and useCompletion contenders when BENCH_AI_SDK=7 (see ai-sdk-major.mjs). The hooks still
// take `experimental_throttle` (deprecated for `throttle`, same meaning), so the suite passes the same
// options to either major.
export { useChat, useCompletion } from '@ai-sdk/react-4'
export { DefaultChatTransport } from 'ai-7'
