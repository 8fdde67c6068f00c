// One contender served on node:http through @hono/node-server, in its own process, pointed at the
// emulator child over loopback (argv: contender baseURL accountId apiKey [dir of the build before]).
// Samples its RSS.
import { createAdaptorServer } from '@hono/node-server'
import { loadBefore, loadOurs } from './ours.mjs'
import { aiSdkRoute, minimalChatRoute, naiveHopRoute, naiveRoute } from './routes.mjs'

// @hono/node-server logs the abort reason of every stream whose client left early; the benchmark
// closes streams on purpose, so that one line is dropped (anything else still prints).
const logError = console.error
console.error = (...args) => {
  if (String(args[0]).includes('Client connection prematurely closed')) return
  logError(...args)
}

const [name, baseURL, accountId, apiKey, before] = process.argv.slice(2)
const upstream = { fetch: (...args) => fetch(...args), baseURL, accountId, apiKey }
let handler
if (name === 'ours' || name === 'before') {
  const { module: server, missing } =
    name === 'before' ? await loadBefore(before) : await loadOurs('.')
  if (!server?.createCopilotEdgeHandler) {
    process.send({
      type: 'error',
      error: missing ?? 'createCopilotEdgeHandler is not exported yet',
    })
    process.exit(1)
  }
  // The user's mounting: no custom fetch (the platform's), caching off so every stream is live.
  handler = server.createCopilotEdgeHandler({
    apiKey,
    accountId,
    baseURL,
    stream: true,
    cache: false,
  })
} else if (name === 'naive') handler = naiveRoute(upstream)
else if (name === 'naive-hop') handler = naiveHopRoute(upstream)
else if (name === 'naive-hop-pad') handler = naiveHopRoute(upstream, 180)
else if (name === 'minimal') handler = minimalChatRoute(upstream)
else handler = aiSdkRoute(upstream)

let peakRss = process.memoryUsage.rss()
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss())
}, 50)
sampler.unref()

const server = createAdaptorServer({ fetch: handler })
// When each connection of a level was accepted, and the CPU spent by then (ms). Node accepts one
// connection per event-loop turn, so the last streams of a burst wait for every turn before
// theirs: the CPU spent until a level's late accepts is what its first-event p99 pays for.
let accepts = []
server.on('connection', () => {
  const cpu = process.cpuUsage()
  accepts.push([performance.now(), (cpu.user + cpu.system) / 1000])
})
// A backlog above Node's default 511, as a production server would set for bursts of 2,000.
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
  process.send({ type: 'ready', port: server.address().port })
})
process.on('message', (message) => {
  if (message.type === 'stats') {
    peakRss = Math.max(peakRss, process.memoryUsage.rss())
    process.send({
      type: 'stats',
      peakRss,
      memory: process.memoryUsage(),
      cpu: process.cpuUsage(),
      accepts,
    })
    if (message.resetPeak) {
      peakRss = process.memoryUsage.rss()
      accepts = []
    }
  }
})
// A killed bench run closes the IPC channel: never outlive the parent.
process.on('disconnect', () => process.exit(0))
process.on('SIGTERM', () => {
  server.close()
  server.closeAllConnections?.()
  process.exit(0)
})
