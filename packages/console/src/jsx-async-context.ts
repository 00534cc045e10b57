import { jsx } from 'hono/jsx/jsx-runtime'

type BuiltinModuleLoader = (id: string) => unknown

/**
 * Makes hono/jsx render without an `AsyncLocalStorage`, in this process, from now on. For a process
 * whose only JSX is the console's, such as `flexsecure serve`'s; returns false when hono had already
 * chosen (a page rendered before the call), or when the process would not let its module loader be
 * hidden for the moment it takes.
 *
 * hono/jsx (4.13) runs every render inside an `AsyncLocalStorage`, so that a context provided above an
 * async component survives its `await`. On Node 20, and on Node 22 without
 * `--experimental-async-context-frame`, an `AsyncLocalStorage` that has run once turns on async_hooks'
 * promise hooks for the whole process, for good: from the first console page on, every promise of every
 * API request ran them, and the engine did 10–15% fewer logins a second (bench/HISTORY.md, "Eleventh
 * session"). The console reads no context after an `await`, so hono's way without one (the render's
 * context kept for its synchronous part) renders it the same.
 *
 * hono looks for `AsyncLocalStorage` once, at its first render, through `process.getBuiltinModule`
 * (else `process.mainModule.require`). This renders one element with both hidden for that moment, so
 * hono settles on its way without one. In an app that renders its own hono/jsx pages with async
 * components reading a context, calling this would change what they read: leave it out there.
 */
export function renderJsxWithoutAsyncContext(): boolean {
  const host = process as unknown as { getBuiltinModule?: BuiltinModuleLoader }
  const loader = host.getBuiltinModule
  const main = Object.getOwnPropertyDescriptor(process, 'mainModule')
  let asked = false
  try {
    host.getBuiltinModule = (id) => {
      if (id === 'node:async_hooks' || id === 'async_hooks') {
        asked = true
        return undefined
      }
      return loader?.call(process, id)
    }
    // A mainModule that cannot be hidden (not configurable) would be found: leave hono to its default.
    if (main && !main.configurable) return false
    Object.defineProperty(process, 'mainModule', { value: undefined, configurable: true, writable: true })
    String(jsx('i', {}))
  } finally {
    if (loader) host.getBuiltinModule = loader
    else delete host.getBuiltinModule
    if (main?.configurable) Object.defineProperty(process, 'mainModule', main)
    else if (!main) delete (process as { mainModule?: unknown }).mainModule
  }
  return asked
}
