// Builds what the example app needs, skipping what is already up to date: the library's dist/ (tsup,
// via `npm run build`), the plain client copied into example-next/public/vendor/, then `next build`.
// Used by `npm run example` and by the browser tests' global setup.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = fileURLToPath(new URL('..', import.meta.url))
export const appDir = join(root, 'example-next')
export const nextBin = join(root, 'node_modules', '.bin', 'next')

const SKIP = new Set(['node_modules', '.next', 'vendor', 'dist'])

/** Newest modification time (ms) of the files under `paths`, skipping build output. */
function newest(paths) {
  let latest = 0
  const visit = (path) => {
    if (!existsSync(path)) return
    const stat = statSync(path)
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path)) if (!SKIP.has(entry)) visit(join(path, entry))
    } else if (stat.mtimeMs > latest) latest = stat.mtimeMs
  }
  for (const path of paths) visit(path)
  return latest
}

function mtime(path) {
  return existsSync(path) ? statSync(path).mtimeMs : 0
}

function run(command, args, cwd) {
  const result = spawnSync(command, args, {
    cwd,
    stdio: 'inherit',
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
  })
  if (result.status !== 0) {
    throw new Error(
      `${[command, ...args].join(' ')} failed (exit ${result.status ?? result.signal})`,
    )
  }
}

/**
 * Builds the library and the example when their sources are newer than their output.
 * @param {{ log?: (message: string) => void, force?: boolean }} [options]
 */
export function buildExample({ log = console.log, force = false } = {}) {
  if (!existsSync(nextBin)) {
    throw new Error('Next.js is not installed: run `npm install` at the repository root first')
  }
  const entries = ['server', 'client', 'react', 'testing']
  const dist = Math.min(...entries.map((e) => mtime(join(root, 'dist', e, 'index.js'))))
  const src = newest([join(root, 'src'), join(root, 'package.json'), join(root, 'tsup.config.ts')])
  if (force || dist < src) {
    log('building the library (npm run build)…')
    run('npm', ['run', '--silent', 'build'], root)
  } else {
    log('library dist/ is up to date')
  }

  run(process.execPath, [join(appDir, 'scripts', 'vendor-client.mjs')], appDir)
  if (force || mtime(join(appDir, '.next', 'BUILD_ID')) < newest([appDir, join(root, 'dist')])) {
    log('building the Next.js example (next build)…')
    run(nextBin, ['build'], appDir)
  } else {
    log('Next.js build is up to date')
  }
}
