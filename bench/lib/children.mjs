// Child processes for the concurrency and many-cores benchmarks: each is forked with IPC, answers `ready` with a
// payload, and is ended by its own PID (never by name) when the suite is done, even on failure.
import { fork } from 'node:child_process'

const started = new Set()

export function startChild(script, args = [], { timeoutMs = 30_000, execArgv = [] } = {}) {
  return new Promise((resolve, reject) => {
    const child = fork(script, args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    started.add(child)
    child.once('exit', () => started.delete(child))
    const timer = setTimeout(
      () => reject(new Error(`${script} not ready after ${timeoutMs} ms`)),
      timeoutMs,
    )
    child.once('message', (message) => {
      clearTimeout(timer)
      if (message.type === 'ready') resolve({ child, ...message })
      else reject(new Error(message.error ?? `unexpected message from ${script}`))
    })
    child.once('error', reject)
  })
}

/** Sends `{ type }` and resolves to the next message of the same type. */
export function ask(child, type, payload = {}) {
  return new Promise((resolve) => {
    const onMessage = (message) => {
      if (message.type !== type) return
      child.off('message', onMessage)
      resolve(message)
    }
    child.on('message', onMessage)
    child.send({ type, ...payload })
  })
}

export async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  process.kill(child.pid, 'SIGTERM')
  const timer = setTimeout(() => {
    if (child.exitCode === null) process.kill(child.pid, 'SIGKILL')
  }, 3_000)
  await exited
  clearTimeout(timer)
}

export async function stopAllChildren() {
  await Promise.all([...started].map(stopChild))
}
