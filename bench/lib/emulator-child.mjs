// The emulator on loopback in its own process, pacing tokens (argv: tokens tokenDelayMs).
import { loadOurs } from './ours.mjs'

// A killed bench run closes the IPC channel: never outlive the parent.
process.on('disconnect', () => process.exit(0))

const [tokens, tokenDelayMs] = process.argv.slice(2).map(Number)
const { module: testing, missing } = await loadOurs('testing')
if (!testing?.createWorkersAIEmulator) {
  process.send({ type: 'error', error: missing ?? 'createWorkersAIEmulator is not exported yet' })
} else {
  const emulator = testing.createWorkersAIEmulator({ tokens, tokenDelayMs })
  const server = await emulator.listen({ port: 0, host: '127.0.0.1' })
  process.on('message', (message) => {
    if (message.type === 'stats') process.send({ type: 'stats', cpu: process.cpuUsage() })
    if (message.type === 'reset') {
      emulator.reset() // drop the request records between levels
      process.send({ type: 'reset' })
    }
  })
  process.on('SIGTERM', () => server.close().finally(() => process.exit(0)))
  process.send({
    type: 'ready',
    baseURL: server.baseURL,
    accountId: emulator.accountId,
    apiKey: emulator.apiToken,
  })
}
