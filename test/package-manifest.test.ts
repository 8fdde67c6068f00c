import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// What a user's `npm install copilotedge` gets: the manifest decides it, so it is asserted here.
const root = fileURLToPath(new URL('..', import.meta.url))
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>
  peerDependencies: Record<string, string>
  peerDependenciesMeta: Record<string, { optional?: boolean }>
  files: string[]
  bin: Record<string, string>
  license: string
}

describe('package.json', () => {
  it('installs no swr (nor react) for a server-only or Worker project: swr is an optional peer', () => {
    expect(Object.keys(pkg.dependencies)).not.toContain('swr')
    expect(Object.keys(pkg.dependencies)).not.toContain('react')
    expect(pkg.peerDependencies.swr).toBeDefined()
    expect(pkg.peerDependenciesMeta.swr?.optional).toBe(true)
    expect(pkg.peerDependenciesMeta.react?.optional).toBe(true)
  })

  it('ships an MIT LICENSE file matching the license field', () => {
    expect(pkg.license).toBe('MIT')
    expect(pkg.files).toContain('LICENSE')
    const text = readFileSync(join(root, 'LICENSE'), 'utf8')
    expect(text).toMatch(/^MIT License\n\nCopyright \(c\) 2026 copilotedge contributors\n/)
  })

  it('ships the copilotedge bin, an executable file in a shipped folder', () => {
    const bin = pkg.bin.copilotedge
    expect(bin).toBe('./bin/copilotedge.mjs')
    expect(pkg.files).toContain('bin')
    const text = readFileSync(join(root, bin!), 'utf8')
    expect(text.startsWith('#!/usr/bin/env node\n')).toBe(true)
    expect(existsSync(join(root, bin!))).toBe(true)
  })
})
