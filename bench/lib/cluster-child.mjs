// One contender on a node:cluster of N workers sharing one port, as the README's "Every core of one
// machine" runs it (argv: workers, policy 'rr' | 'none', then server-child.mjs's own: contender
// baseURL accountId apiKey [before]). This process is the cluster's primary. With 'rr' (cluster's
// default everywhere but Windows) it accepts every connection and hands it to a worker round-robin
// over IPC, so its CPU counts as the server's; with 'none' (SCHED_NONE) the workers accept from the
// shared socket themselves and the kernel picks which. Each worker is server-child.mjs. Listening on port 0 in every worker is safe
// here: in a cluster, listen(0) gives every worker the same port (the primary binds it once).
import cluster from 'node:cluster'
import { libFile } from './stream-load.mjs'

const [workers, policy, ...serverArgs] = process.argv.slice(2)
const count = Number(workers)
cluster.schedulingPolicy = policy === 'none' ? cluster.SCHED_NONE : cluster.SCHED_RR

cluster.setupPrimary({ exec: libFile('server-child.mjs'), args: serverArgs })

const started = []
let stopping = false
async function stopWorkers() {
  stopping = true
  await Promise.all(
    started.map(
      (worker) =>
        new Promise((resolve) => {
          if (worker.process.exitCode !== null || worker.process.signalCode !== null)
            return resolve()
          worker.process.once('exit', resolve)
          process.kill(worker.process.pid, 'SIGTERM')
        }),
    ),
  )
}
function fail(error) {
  process.send?.({ type: 'error', error })
  stopWorkers().finally(() => process.exit(1))
}
// A killed bench run closes the IPC channel: never outlive the parent (nor let the workers).
process.on('disconnect', () => stopWorkers().finally(() => process.exit(0)))
process.on('SIGTERM', () => stopWorkers().finally(() => process.exit(0)))

/** Sends `{ type }` to a worker and resolves to its next message of that type. */
function askWorker(worker, type, payload = {}) {
  return new Promise((resolve) => {
    const onMessage = (message) => {
      if (message.type !== type) return
      worker.off('message', onMessage)
      resolve(message)
    }
    worker.on('message', onMessage)
    worker.send({ type, ...payload })
  })
}

const ports = await Promise.all(
  Array.from({ length: count }, () => {
    const worker = cluster.fork()
    started.push(worker)
    worker.on('exit', (code, signal) => {
      if (!stopping) fail(`cluster worker ${worker.process.pid} exited (${signal ?? code})`)
    })
    return new Promise((resolve) => {
      worker.once('message', (message) => {
        if (message.type === 'ready') resolve(message.port)
        else fail(message.error ?? 'a cluster worker did not start')
      })
    })
  }),
)
if (new Set(ports).size !== 1) fail(`cluster workers listen on different ports: ${ports}`)

process.on('message', async (message) => {
  if (message.type !== 'stats') return
  const answers = await Promise.all(started.map((w) => askWorker(w, 'stats', message)))
  const primaryCpu = process.cpuUsage()
  const cpu = { user: primaryCpu.user, system: primaryCpu.system }
  for (const a of answers) {
    cpu.user += a.cpu.user
    cpu.system += a.cpu.system
  }
  process.send({
    type: 'stats',
    // Each process's own peak, summed (they need not peak at the same moment): an upper bound.
    peakRss: process.memoryUsage.rss() + answers.reduce((sum, a) => sum + a.peakRss, 0),
    cpu,
    primaryCpu,
    workersCpu: answers.map((a) => a.cpu),
  })
})
process.send({ type: 'ready', port: ports[0], pids: started.map((w) => w.process.pid) })
