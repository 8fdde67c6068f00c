/**
 * Whether answers come from the offline Workers AI emulator: `npm run example` sets
 * COPILOTEDGE_EMULATOR=1 when it starts one. Read per request, never baked in at `next build`. The one
 * source of truth for both pages' offline banner (the plain page asks /api/demo-mode).
 */
export function isOfflineDemo(): boolean {
  return process.env.COPILOTEDGE_EMULATOR === '1'
}
