import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { build } from 'tsup'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pkg from '../../package.json' with { type: 'json' }

// What a user's Worker gets from `import ... from 'copilotedge'`: the server entry bundled whole
// (our dependencies too, as wrangler bundles them), minified, for a platform without Node. Built
// here into a fresh directory, so the numbers are always this tree's and dist/ is left alone.
// A devDependency that reaches src/server at run time is bundled into it: @ag-ui/core's zod
// schema once took this from 38 KB to 137 KB gzipped.

/**
 * gzip bytes: 56.1 KB measured by this test on 2026-12-02 (four protocols, telemetry, resume, the
 * Redis, KV, Cache API and Durable Object stores), plus about 15%. A leaked dependency is far more:
 * zod alone added 99 KB.
 */
const GZIP_BUDGET = 65_000

let outDir: string
let code: string
let inputs: string[]

beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'copilotedge-server-bundle-'))
  await build({
    entry: { index: 'src/server/index.ts' },
    outDir,
    format: ['esm'],
    platform: 'neutral',
    target: 'es2022',
    minify: true,
    // Bundle our dependencies as a Worker build would; optional peers are the user's own.
    noExternal: [/.*/],
    external: [...Object.keys(pkg.peerDependencies), /^node:/],
    metafile: true,
    dts: false,
    sourcemap: false,
    splitting: false,
    clean: false,
    silent: true,
    config: false,
  })
  code = await readFile(join(outDir, 'index.js'), 'utf8')
  const metafile = (await readdir(outDir)).find((name) => name.startsWith('metafile'))
  const meta = JSON.parse(await readFile(join(outDir, metafile ?? 'missing'), 'utf8'))
  inputs = Object.keys(meta.inputs)
}, 60_000)

afterAll(async () => {
  if (outDir) await rm(outDir, { recursive: true, force: true })
})

/** The npm package a bundled input file came from, or null for our own source. */
function packageOf(input: string): string | null {
  const at = input.lastIndexOf('node_modules/')
  if (at === -1) return null
  const [scope, name] = input.slice(at + 'node_modules/'.length).split('/')
  return scope?.startsWith('@') ? `${scope}/${name}` : (scope ?? null)
}

describe('the server bundle (what a Worker gets from copilotedge)', () => {
  it('holds only our source and our declared dependencies', () => {
    const bundled = new Set(inputs.map(packageOf).filter((name) => name !== null))
    expect([...bundled].sort()).toEqual(
      [...bundled].filter((name) => name in pkg.dependencies).sort(),
    )
    expect(inputs.some((input) => input.startsWith('src/server/'))).toBe(true)
  })

  it('carries no zod and no @ag-ui code', () => {
    expect(inputs.filter((input) => /node_modules\/(zod|@ag-ui)\//.test(input))).toEqual([])
    expect(code).toContain('RUN_FINISHED')
    expect(code).not.toMatch(/zod/i)
    expect(code).not.toContain('@ag-ui/')
  })

  it('never imports @opentelemetry/api (telemetry uses the tracer/meter given, or the global registry)', () => {
    expect(inputs.filter((input) => input.includes('@opentelemetry'))).toEqual([])
    expect(code).not.toContain('@opentelemetry/')
    expect(code).toContain('gen_ai.client.operation.duration')
  })

  it(`stays under ${GZIP_BUDGET / 1000} KB gzipped`, () => {
    const raw = Buffer.byteLength(code)
    const gzip = gzipSync(code, { level: 9 }).length
    console.log(
      `server bundle (esm, neutral, minified, dependencies included): ` +
        `${(raw / 1000).toFixed(1)} KB raw, ${(gzip / 1000).toFixed(1)} KB gzip ` +
        `(budget ${GZIP_BUDGET / 1000} KB gzip)`,
    )
    expect(gzip).toBeLessThan(GZIP_BUDGET)
  })
})
