import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from '@playwright/test'
import { build } from 'esbuild'
import { root } from '../../scripts/build-example.mjs'

// The README's quick-start page (the ```tsx block that starts with `// app/chat.tsx`) is what a newcomer
// copies. It is bundled from the README itself against the built `copilotedge/react` (the global setup
// builds dist/), served on 127.0.0.1 with a slow SSE answer, and clicked in Chromium as a person would:
// the Stop bug needs a real browser (a click's microtasks run between its listeners and the submit).

const TOKEN_DELAY_MS = 40
const TOKENS = 80

function chunk(delta: Record<string, string>, finish: string | null = null): string {
  const body = {
    id: 'chatcmpl-readme',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: '@cf/meta/llama-3.1-8b-instruct',
    choices: [{ index: 0, delta, finish_reason: finish }],
  }
  return `data: ${JSON.stringify(body)}\n\n`
}

async function bundleQuickStart(): Promise<string> {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const block = /```tsx\n(\/\/ app\/chat\.tsx\n[\s\S]*?)```/.exec(readme)?.[1]
  if (!block) throw new Error('README.md has no ```tsx block starting with // app/chat.tsx')
  const dir = mkdtempSync(join(tmpdir(), 'copilotedge-quick-start-'))
  try {
    writeFileSync(join(dir, 'chat.tsx'), block)
    writeFileSync(
      join(dir, 'main.tsx'),
      "import { createRoot } from 'react-dom/client'\nimport { Chat } from './chat'\n" +
        "createRoot(document.getElementById('root')!).render(<Chat />)\n",
    )
    const result = await build({
      entryPoints: [join(dir, 'main.tsx')],
      bundle: true,
      write: false,
      format: 'esm',
      jsx: 'automatic',
      nodePaths: [join(root, 'node_modules')],
      define: { 'process.env.NODE_ENV': '"development"' },
      logLevel: 'silent',
    })
    return result.outputFiles[0]!.text
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

interface QuickStartServer {
  url: string
  /** The body of every POST /api/copilot, in order. */
  posts: string[]
  server: Server
}

async function serveQuickStart(script: string): Promise<QuickStartServer> {
  const posts: string[] = []
  const server = createServer(async (request, response) => {
    if (request.method === 'POST' && request.url === '/api/copilot') {
      let body = ''
      for await (const part of request) body += part
      posts.push(body)
      response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' })
      response.write(chunk({ role: 'assistant', content: '' }))
      let sent = 0
      const timer = setInterval(() => {
        if (sent < TOKENS) response.write(chunk({ content: `word${++sent} ` }))
        else {
          clearInterval(timer)
          response.end(`${chunk({}, 'stop')}data: [DONE]\n\n`)
        }
      }, TOKEN_DELAY_MS)
      response.on('close', () => clearInterval(timer))
      return
    }
    if (request.url === '/app.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' })
      response.end(script)
      return
    }
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    response.end(
      '<!doctype html><html lang="en"><head><link rel="icon" href="data:,"></head>' +
        '<body><div id="root"></div><script type="module" src="/app.js"></script></body></html>',
    )
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return { url: `http://127.0.0.1:${address.port}/`, posts, server }
}

let app: QuickStartServer

test.beforeAll(async () => {
  app = await serveQuickStart(await bundleQuickStart())
})

test.afterAll(async () => {
  app.server.closeAllConnections()
  app.server.close()
})

test.describe('the README quick-start chat', () => {
  for (const [label, draft] of [
    ['a draft typed', 'a follow-up I am still writing'],
    ['the box empty', ''],
  ] as const) {
    test(`Stop sends no second request and keeps the box as it was (${label})`, async ({
      page,
    }) => {
      const errors: string[] = []
      page.on('pageerror', (error) => errors.push(error.message))
      const before = app.posts.length
      await page.goto(app.url)

      const box = page.getByRole('textbox')
      await box.fill('What are Server-Sent Events?')
      await page.getByRole('button', { name: 'Send' }).click()
      await expect(page.getByText('word3')).toBeVisible()
      await expect(page.getByText('streaming', { exact: true })).toBeVisible()

      await box.fill(draft)
      await page.getByRole('button', { name: 'Stop' }).click()

      await expect(page.getByText('aborted', { exact: true })).toBeVisible()
      // Long enough for a stray submit to reach the server and stream a few words if it did.
      await page.waitForTimeout(TOKEN_DELAY_MS * 10)
      await expect(page.getByText('aborted', { exact: true })).toBeVisible()
      expect(app.posts.slice(before)).toHaveLength(1)
      await expect(box).toHaveValue(draft)
      await expect(page.getByRole('button', { name: 'Send' })).toBeVisible()
      expect(errors).toEqual([])
    })
  }
})
