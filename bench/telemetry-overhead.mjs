// What telemetry (issue 13) costs a request, in process: the same handler three ways, without the
// option, with `telemetry: true` and no provider registered, and with the OpenTelemetry SDK
// recording (bench/lib/telemetry-sdk.mjs), on the Workers AI emulator through its fetch. Rounds
// rotate the order (no contender always runs after another's garbage); per-round ratios to "off",
// medians. Run by hand: `node bench/telemetry-overhead.mjs` (TOKENS=5000 for long answers;
// BENCH_COPILOTEDGE=<dir> for another build, as the suites take it).
import { loadOurs } from './lib/ours.mjs'
import { median } from './lib/stats.mjs'
import { telemetrySdk } from './lib/telemetry-sdk.mjs'

const TOKENS = Number(process.env.TOKENS ?? 8)
const PER_ROUND = Number(process.env.PER_ROUND ?? (TOKENS > 100 ? 3 : 300))
const ROUNDS = Number(process.env.ROUNDS ?? 9)

const server = await loadOurs('.')
const testing = await loadOurs('testing')
const { createCopilotEdgeHandler } = server.module
const emulator = testing.module.createWorkersAIEmulator({ tokens: TOKENS })
const base = {
  apiKey: emulator.apiToken,
  accountId: emulator.accountId,
  baseURL: 'https://emulator.local/client/v4',
  fetch: (input, init) => emulator.fetch(new Request(input, init)),
  stream: true,
  cache: false,
}
const handlers = [
  ['off', createCopilotEdgeHandler(base)],
  ['idle', createCopilotEdgeHandler({ ...base, telemetry: true })],
  ['sdk', createCopilotEdgeHandler({ ...base, telemetry: telemetrySdk() })],
]
const request = () =>
  new Request('http://bench.local/api', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }], stream: true }),
  })

async function one(handler) {
  await (await handler(request())).text()
}

for (const [, handler] of handlers) for (let i = 0; i < PER_ROUND; i++) await one(handler)
const us = new Map(handlers.map(([name]) => [name, []]))
for (let round = 0; round < ROUNDS; round++) {
  for (let k = 0; k < handlers.length; k++) {
    const [name, handler] = handlers[(k + round) % handlers.length]
    const t0 = performance.now()
    for (let i = 0; i < PER_ROUND; i++) await one(handler)
    us.get(name).push(((performance.now() - t0) / PER_ROUND) * 1000)
    emulator.reset()
  }
}
const ratio = (name) => median(us.get(name).map((v, i) => v / us.get('off')[i]))
console.log(
  `${TOKENS} tokens a request, ${PER_ROUND} requests × ${ROUNDS} rounds, Node ${process.version}`,
)
for (const [name] of handlers) {
  console.log(
    `${name.padEnd(5)} ${median(us.get(name)).toFixed(0).padStart(7)} µs/request` +
      (name === 'off' ? '' : `  ${ratio(name).toFixed(2)}x off`),
  )
}
