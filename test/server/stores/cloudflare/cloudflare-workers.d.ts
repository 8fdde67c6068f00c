// The one `cloudflare:workers` export the test Worker uses (workers-types is not installed here).
declare module 'cloudflare:workers' {
  export function waitUntil(promise: Promise<unknown>): void
}
