// Benchmarks import copilotedge exactly as a user would: the package name and its exports map,
// served from the built dist/. npm cannot make a workspace depend on its own root package, so the
// harness links bench/node_modules/copilotedge to the repository root (git ignores node_modules).
import { existsSync, lstatSync, mkdirSync, symlinkSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..')
export const rootDir = join(benchDir, '..')

export function linkPackage() {
  const link = join(benchDir, 'node_modules', 'copilotedge')
  let present = false
  try {
    present = lstatSync(link).isSymbolicLink() || existsSync(join(link, 'package.json'))
  } catch {}
  if (!present) {
    mkdirSync(dirname(link), { recursive: true })
    symlinkSync(relative(dirname(link), rootDir), link, 'dir')
  }
}

/**
 * Imports one entry of copilotedge; returns null (with the reason) while that piece has not landed,
 * so each benchmark can still measure the peers and say what of ours is missing.
 */
export async function loadOurs(entry) {
  const specifier = entry === '.' ? 'copilotedge' : `copilotedge/${entry}`
  try {
    // BENCH_COPILOTEDGE=/path/to/a/copy measures another build (before/after a hot-path change).
    const other = process.env.BENCH_COPILOTEDGE
    if (other) {
      const file = join(other, 'dist', entry === '.' ? 'server' : entry, 'index.js')
      return { module: await import(pathToFileURL(file).href), missing: null }
    }
    linkPackage()
    return { module: await import(specifier), missing: null }
  } catch (error) {
    return { module: null, missing: `${specifier}: ${error.message.split('\n')[0]}` }
  }
}

export const BEFORE_LABEL = 'copilotedge, the build of --before'

/**
 * Imports the server entry of another build of copilotedge (a folder with its own dist/, e.g. the
 * package before a redesign: bench/run.mjs --before=<dir>), for a contender beside ours.
 */
export async function loadBefore(dir, entry = 'server') {
  try {
    const file = join(dir, 'dist', entry, 'index.js')
    return { module: await import(pathToFileURL(file).href), missing: null }
  } catch (error) {
    return { module: null, missing: `${dir}: ${error.message.split('\n')[0]}` }
  }
}

/** Returns the named export, or records why it is missing. */
export function pick(loaded, name, missing) {
  const value = loaded.module?.[name]
  if (typeof value !== 'function') {
    missing.push(loaded.missing ?? `${name} is not exported yet`)
    return null
  }
  return value
}
