// The whole plain-client demo: stream an answer into the page with `streamCopilot`.
import { streamCopilot } from 'copilotedge/client'

const form = document.querySelector('#ask')
const question = document.querySelector('#question')
const send = document.querySelector('#send')
const stop = document.querySelector('#stop')
const state = document.querySelector('#state')
const answer = document.querySelector('#answer')
const error = document.querySelector('#error')
const offlineBanner = document.querySelector('#offline-banner')

let current = null
let stopped = false

// The same switch as the React page's banner: the server says whether answers come from the emulator.
fetch('/api/demo-mode')
  .then((response) => (response.ok ? response.json() : null))
  .then((mode) => {
    offlineBanner.hidden = mode?.offline !== true
  })
  .catch(() => {})

function showError(title, detail = '') {
  error.replaceChildren()
  const strong = document.createElement('strong')
  strong.textContent = title
  error.append(strong)
  if (detail) error.append(` ${detail}`)
  error.hidden = false
}

/** Words for a person: a network failure says the server cannot be reached, never "Failed to fetch". */
function describe(err) {
  if (err instanceof TypeError) {
    return [
      'Could not reach the server.',
      'The request never got an answer: check that the app is still running (npm run example), then try again.',
    ]
  }
  if (err?.name === 'CopilotTruncatedError') {
    return ['The answer was cut off.', 'The connection ended before the answer was complete.']
  }
  // The library's errors carry the server's own sentence (never raw JSON).
  return ['The answer failed.', err instanceof Error ? err.message : String(err)]
}

question.addEventListener('input', () => {
  if (question.value.trim()) error.hidden = true
})

form.addEventListener('submit', async (event) => {
  event.preventDefault()
  if (current) return
  const prompt = question.value.trim()
  if (!prompt) {
    showError('Type a question first.')
    question.focus()
    return
  }

  answer.textContent = ''
  answer.hidden = true
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
      answer.hidden = false
    }
    // After abort() the loop ends quietly, keeping the text received so far.
    state.textContent = stopped
      ? 'Stopped'
      : `Done · first token ${Math.round(firstToken)} ms${cached ? ' · cached answer' : ''}`
  } catch (err) {
    // Any partial answer stays (shown above the error); an empty answer box is never left behind.
    showError(...describe(err))
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
