import { fileURLToPath } from 'node:url'

// copilotedge is linked from the repository root (`file:..`): Turbopack's root must contain it.
const root = fileURLToPath(new URL('..', import.meta.url))

/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  turbopack: { root },
  outputFileTracingRoot: root,
}

export default nextConfig
