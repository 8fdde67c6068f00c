/**
 * The models this app may ask for (the route's `models` allow-list: a request naming any other gets
 * a 400, so a visitor cannot pick an expensive model). The first is the chat page's; the comparison
 * page asks both. The offline emulator serves both.
 */
export const MODELS = [
  '@cf/meta/llama-3.1-8b-instruct',
  '@cf/meta/llama-3.3-70b-instruct-fp8-fast',
] as const
