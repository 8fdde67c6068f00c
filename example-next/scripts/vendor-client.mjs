// Copies the plain browser client, `copilotedge/client`, and its one dependency, eventsource-parser,
// from the installed packages into public/vendor/, so public/vanilla.html can load them through an
// import map with no bundler: the page imports `copilotedge/client` exactly as a user's code does.

import { existsSync } from 'node:fs'
import { copyFile, mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const vendor = fileURLToPath(new URL('../public/vendor/', import.meta.url))

for (const [specifier, folder] of [
  ['copilotedge/client', 'copilotedge-client'],
  ['eventsource-parser', 'eventsource-parser'],
]) {
  let source
  try {
    source = fileURLToPath(import.meta.resolve(specifier))
  } catch {
    throw new Error(`${specifier} is not built: run \`npm run build\` at the repository root first`)
  }
  if (!existsSync(source)) {
    throw new Error(`${source} is missing: run \`npm run build\` at the repository root first`)
  }
  const target = join(vendor, folder)
  await mkdir(target, { recursive: true })
  await copyFile(source, join(target, 'index.js'))
  // Keep the source map beside it so the browser's devtools show the original TypeScript.
  const map = join(dirname(source), 'index.js.map')
  if (existsSync(map)) await copyFile(map, join(target, 'index.js.map'))
}
