import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { afterAll, describe, expect, it } from 'vitest'

// Every ```ts / ```tsx block of the README is compiled against the package's published types (dist/,
// resolved through the exports map exactly as a user's project resolves `copilotedge`), so a sample
// cannot name an option, a function or a field that does not exist.

const root = fileURLToPath(new URL('..', import.meta.url))
const readme = readFileSync(join(root, 'README.md'), 'utf8')

interface Sample {
  /** 1-based README line of the block's first code line. */
  line: number
  lang: 'ts' | 'tsx'
  code: string
}

function extractSamples(markdown: string): Sample[] {
  const samples: Sample[] = []
  const lines = markdown.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(ts|tsx|typescript)\s*$/.exec(lines[i] ?? '')
    if (!open) continue
    const start = i + 1
    let end = start
    while (end < lines.length && !/^```\s*$/.test(lines[end] ?? '')) end++
    const lang = open[1] === 'tsx' ? 'tsx' : 'ts'
    samples.push({ line: start + 1, lang, code: lines.slice(start, end).join('\n') })
    i = end
  }
  return samples
}

const samples = extractSamples(readme)
const dir = mkdtempSync(join(tmpdir(), 'copilotedge-readme-'))
const copilotkitDir = join(root, 'example-copilotkit', '.readme-samples')
afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
  rmSync(copilotkitDir, { recursive: true, force: true })
})

describe('README.md code samples', () => {
  it('has TypeScript samples to check (the extractor found them)', () => {
    expect(samples.length).toBeGreaterThanOrEqual(8)
    expect(samples.some((s) => s.lang === 'tsx')).toBe(true)
  })

  it('type-check against the published types of copilotedge, each as its own module', () => {
    expect(
      existsSync(join(root, 'dist', 'server', 'index.d.ts')),
      'run `npm run build` first',
    ).toBe(true)
    // The samples import `copilotedge`, `react`, ... as a user's project would: from node_modules.
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir')
    // CopilotKit's packages are example-copilotkit's own (not the root's): its samples are written
    // inside that package, so they resolve its node_modules (CI installs it); without it they are
    // left out.
    const hasCopilotKit = existsSync(
      join(root, 'example-copilotkit', 'node_modules', '@copilotkit'),
    )
    if (hasCopilotKit) mkdirSync(copilotkitDir, { recursive: true })
    const usesCopilotKit = (code: string) => /from '@copilotkit\//.test(code)
    const files = samples.flatMap((sample, i) => {
      if (usesCopilotKit(sample.code) && !hasCopilotKit) return []
      const folder = usesCopilotKit(sample.code) ? copilotkitDir : dir
      const file = join(folder, `sample-${String(i + 1).padStart(2, '0')}.${sample.lang}`)
      // A block without import/export would share the global scope with the others.
      const isModule = /^\s*(import|export)\s/m.test(sample.code)
      writeFileSync(file, isModule ? sample.code : `${sample.code}\nexport {}\n`)
      return { file, sample }
    })

    // Workers' own module (no @cloudflare/workers-types here): the one export the samples use.
    const workers = join(root, 'test', 'server', 'stores', 'cloudflare', 'cloudflare-workers.d.ts')
    const program = ts.createProgram([...files.map((f) => f.file), workers], {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ['lib.es2023.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
      types: ['node'],
      jsx: ts.JsxEmit.ReactJSX,
      strict: true,
      noUncheckedIndexedAccess: true,
      verbatimModuleSyntax: true,
      isolatedModules: true,
      skipLibCheck: true,
      noEmit: true,
    })

    const problems = ts.getPreEmitDiagnostics(program).map((diagnostic) => {
      const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')
      const owner = files.find((f) => f.file === diagnostic.file?.fileName)
      if (!owner || diagnostic.file === undefined || diagnostic.start === undefined) return text
      const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start)
      return `README.md:${owner.sample.line + line}: ${text}`
    })
    expect(problems).toEqual([])
  })
})
