// Which major of the AI SDK the bench's AI SDK contenders run: BENCH_AI_SDK=6 (the default: ai 6,
// @ai-sdk/react 3, @ai-sdk/openai-compatible 2) or BENCH_AI_SDK=7 (ai 7, @ai-sdk/react 4,
// @ai-sdk/openai-compatible 3, installed as the npm aliases ai-7, @ai-sdk/react-4 and
// @ai-sdk/openai-compatible-3). An environment variable, so every suite process and every child a
// suite forks (RSS children, servers) sees the same choice without being passed it.
const raw = process.env.BENCH_AI_SDK ?? '6'
if (raw !== '6' && raw !== '7') throw new Error(`BENCH_AI_SDK must be 6 or 7, not ${raw}`)

export const aiSdkMajor = Number(raw)

// ai 7 and @ai-sdk/react 4 declare engines node >= 22: a run on an older Node would measure
// something their authors do not support.
if (aiSdkMajor === 7 && Number(process.versions.node.split('.')[0]) < 22)
  throw new Error(`BENCH_AI_SDK=7 needs Node >= 22 (ai 7's engines), this is ${process.version}`)
