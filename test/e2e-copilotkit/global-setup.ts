import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { appDir, nextBin } from './fixtures'

const root = fileURLToPath(new URL('../../', import.meta.url))
const SKIP = new Set(['node_modules', '.next'])

/** Newest modification time (ms) of the files under `paths`, skipping build output. */
function newest(paths: string[]): number {
  let latest = 0
  const visit = (path: string) => {
    if (!existsSync(path)) return
    const stat = statSync(path)
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path)) if (!SKIP.has(entry)) visit(join(path, entry))
    } else if (stat.mtimeMs > latest) latest = stat.mtimeMs
  }
  for (const path of paths) visit(path)
  return latest
}

const mtime = (path: string) => (existsSync(path) ? statSync(path).mtimeMs : 0)

function run(command: string, args: string[], cwd: string): void {
  const result = spawnSync(command, args, {
    cwd,
    stdio: 'inherit',
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', COPILOTKIT_TELEMETRY_DISABLED: 'true' },
  })
  if (result.status !== 0) throw new Error(`${[command, ...args].join(' ')} failed`)
}

// Builds the library's dist/ and then example-copilotkit, each only when its sources are newer.
export default function globalSetup(): void {
  if (!existsSync(nextBin)) {
    throw new Error('example-copilotkit is not installed: run `npm ci --prefix example-copilotkit`')
  }
  const dist = join(root, 'dist')
  const entries = ['server', 'testing'].map((entry) => mtime(join(dist, entry, 'index.js')))
  const stale = Math.min(...entries) < newest([join(root, 'src'), join(root, 'tsup.config.ts')])
  // SKIP_BUILD=1 (as in scripts/test.mjs): use dist/ as it is.
  if (stale && process.env.SKIP_BUILD !== '1') {
    console.log('[e2e-copilotkit] building the library (npm run build)…')
    run('npm', ['run', '--silent', 'build'], root)
  }
  if (mtime(join(appDir, '.next', 'BUILD_ID')) < newest([appDir, join(dist, 'server')])) {
    console.log('[e2e-copilotkit] building example-copilotkit (next build)…')
    run(nextBin, ['build'], appDir)
  }
}
