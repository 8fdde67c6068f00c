// A jsdom window for the hook benchmark, installed the way global-jsdom does it: every window
// property Node lacks is copied onto globalThis; Node's own fetch, streams, TextDecoder and
// AbortController stay. `pretendToBeVisual` gives requestAnimationFrame at 60 Hz, as a browser tab.
import { JSDOM } from 'jsdom'

export function installDom() {
  const dom = new JSDOM('<!doctype html><html><body><div id="root"></div></body></html>', {
    pretendToBeVisual: true,
    url: 'http://localhost/',
  })
  const { window } = dom
  for (const key of Object.getOwnPropertyNames(window)) {
    if (key in globalThis) continue
    try {
      globalThis[key] = window[key]
    } catch {}
  }
  globalThis.window = window
  globalThis.document = window.document
  globalThis.requestAnimationFrame = window.requestAnimationFrame.bind(window)
  globalThis.cancelAnimationFrame = window.cancelAnimationFrame.bind(window)
  globalThis.IS_REACT_ACT_ENVIRONMENT = false
  return dom
}
