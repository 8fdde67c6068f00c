import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build, type Options } from 'tsup'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import projectConfig from '../../tsup.config'

// The client and react entries are built here, with the project's own tsup settings, into a fresh
// directory: the assertions always look at output this test produced (never a stale or missing dist/),
// and other people's dist/ is left alone.
const ENTRIES = { 'client/index': 'src/client/index.ts', 'react/index': 'src/react/index.ts' }

// What only server code contains. None of it may reach a browser bundle.
const SERVER_MARKERS = [
  'CopilotEdge',
  'createCopilotEdgeHandler',
  'createWorkersAIProvider',
  'lru-cache',
  'LRUCache',
  'hono',
  'CLOUDFLARE_API_TOKEN',
  'process.env',
  'src/server',
]
// The only modules the browser entries may import at run time.
const ALLOWED_IMPORTS = new Set(['eventsource-parser', 'react', 'swr', 'copilotedge/client'])

let outDir: string
const files = new Map<string, string>()

beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'copilotedge-bundle-'))
  const { entry: _entry, outDir: _outDir, ...shared } = projectConfig as Options
  await build({
    ...shared,
    entry: ENTRIES,
    outDir,
    dts: false,
    sourcemap: false,
    silent: true,
    config: false,
  })
  for (const folder of ['client', 'react']) {
    for (const name of await readdir(join(outDir, folder))) {
      files.set(`${folder}/${name}`, await readFile(join(outDir, folder, name), 'utf8'))
    }
  }
}, 60_000)

afterAll(async () => {
  if (outDir) await rm(outDir, { recursive: true, force: true })
})

function importsOf(code: string): string[] {
  const specifiers = new Set<string>()
  for (const match of code.matchAll(
    /\bfrom\s*["']([^"']+)["']|\bimport\s*\(?\s*["']([^"']+)["']|\brequire\(\s*["']([^"']+)["']\s*\)/g,
  )) {
    specifiers.add((match[1] ?? match[2] ?? match[3]) as string)
  }
  return [...specifiers]
}

describe('the browser bundles of copilotedge/client and copilotedge/react', () => {
  it('were built as ESM and CJS for both entries, with the public API in them', () => {
    expect([...files.keys()].sort()).toEqual([
      'client/index.cjs',
      'client/index.js',
      'react/index.cjs',
      'react/index.js',
    ])
    for (const [name, code] of files) {
      if (name.startsWith('client/')) {
        expect(code).toContain('readSSE')
        expect(code).toContain('streamCopilot')
        expect(code).toContain('CopilotHTTPError')
      } else {
        expect(code).toContain('useCopilotStream')
      }
    }
  })

  it('contain no server code', () => {
    for (const [name, code] of files) {
      for (const marker of SERVER_MARKERS) {
        expect(code.includes(marker), `${name} contains ${marker}`).toBe(false)
      }
    }
  })

  it('define each client error class once: the react entry takes them from copilotedge/client', () => {
    for (const name of ['react/index.js', 'react/index.cjs']) {
      const code = files.get(name) ?? ''
      expect(importsOf(code)).toContain('copilotedge/client')
      expect(code).not.toMatch(/CopilotHTTPError = class|CopilotStreamError = class/)
    }
    for (const name of ['client/index.js', 'client/index.cjs']) {
      expect(files.get(name)).toMatch(/CopilotHTTPError = class/)
    }
  })

  it('import nothing but eventsource-parser, react, swr and the client entry (no node: modules)', () => {
    for (const [name, code] of files) {
      const imports = importsOf(code)
      expect(imports.length, `${name} imports something`).toBeGreaterThan(0)
      for (const specifier of imports) {
        expect(ALLOWED_IMPORTS.has(specifier), `${name} imports ${specifier}`).toBe(true)
      }
    }
  })

  // In the CJS file esbuild puts "use strict" first: both are directives of the same prologue.
  it('keeps "use client" at the top of the react entry', () => {
    for (const name of ['react/index.js', 'react/index.cjs']) {
      expect(files.get(name)?.trimStart()).toMatch(/^(["']use strict["'];?\s*)?["']use client["']/)
    }
  })
})

describe('the built package (dist/)', () => {
  it('hands out the same error class from copilotedge/client and copilotedge/react', async () => {
    const require = createRequire(import.meta.url)
    const root = join(import.meta.dirname, '..', '..', 'dist')
    const client = require(join(root, 'client', 'index.cjs'))
    const react = require(join(root, 'react', 'index.cjs'))
    expect(react.CopilotHTTPError).toBe(client.CopilotHTTPError)
    const error = new react.CopilotStreamError({ error: { message: 'boom' } })
    expect(error instanceof client.CopilotStreamError).toBe(true)
  })
})
