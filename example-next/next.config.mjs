import { fileURLToPath } from 'node:url'

// The repository root holds the lockfile, node_modules and the library itself (a workspace).
const root = fileURLToPath(new URL('..', import.meta.url))

/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  turbopack: { root },
  outputFileTracingRoot: root,
}

export default nextConfig
