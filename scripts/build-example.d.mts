export declare const root: string
export declare const appDir: string
export declare const nextBin: string
/** Builds the library and the example when their sources are newer than their output. */
export declare function buildExample(options?: {
  log?: (message: string) => void
  force?: boolean
}): void
