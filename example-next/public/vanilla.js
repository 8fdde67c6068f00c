// The whole plain-client demo: stream an answer into the page with `streamCopilot`.
import { streamCopilot } from 'copilotedge/client'

const form = document.querySelector('#ask')
const question = document.querySelector('#question')
const send = document.querySelector('#send')
const stop = document.querySelector('#stop')
const state = document.querySelector('#state')
const answer = document.querySelector('#answer')
const error = document.querySelector('#error')

let current = null
let stopped = false

form.addEventListener('submit', async (event) => {
  event.preventDefault()
  const prompt = question.value.trim()
  if (!prompt || current) return

  answer.textContent = ''
  error.hidden = true
  send.disabled = true
  stop.disabled = false
  state.textContent = 'Streaming…'
  const started = performance.now()
  let firstToken = 0
  let cached = false
  stopped = false

  current = streamCopilot({
    api: '/api/copilot',
    messages: [{ role: 'user', content: prompt }],
    onResponse: (response) => {
      cached = response.headers.get('X-Cache') === 'HIT'
    },
  })
  try {
    for await (const delta of current) {
      if (!firstToken) firstToken = performance.now() - started
      answer.textContent += delta
    }
    // After abort() the loop ends quietly, keeping the text received so far.
    state.textContent = stopped
      ? 'Stopped'
      : `Done · first token ${Math.round(firstToken)} ms${cached ? ' · cached answer' : ''}`
  } catch (err) {
    // The error carries the server's message (never raw JSON).
    error.textContent = err instanceof Error ? err.message : String(err)
    error.hidden = false
    state.textContent = 'Failed'
  } finally {
    current = null
    send.disabled = false
    stop.disabled = true
  }
})

stop.addEventListener('click', () => {
  stopped = true
  current?.abort()
})
