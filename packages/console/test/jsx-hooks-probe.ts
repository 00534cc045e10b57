// Run by jsx-async-context.test.ts in a process of its own, since promise hooks, once on, stay on for the
// process. With `prime`, calls renderJsxWithoutAsyncContext first. Renders the console's sign-in page,
// then says whether async_hooks tracks promises: a promise reaction's executionAsyncId is 0 when no hook
// does. Then runs an AsyncLocalStorage (which turns them on) and probes again, as a control.
import { AsyncLocalStorage, executionAsyncId } from 'node:async_hooks'
import { renderJsxWithoutAsyncContext } from '../src/index.js'
import { consoleFixture } from './console-fixture.js'

const probe = () =>
  new Promise<number>((resolve) => Promise.resolve().then(() => resolve(executionAsyncId())))
const primed = process.argv.includes('prime') ? renderJsxWithoutAsyncContext() : null
const f = await consoleFixture()
try {
  const before = await probe()
  const page = await f.client().get('/console/sign-in')
  const afterPage = await probe()
  new AsyncLocalStorage().run(1, () => {})
  const afterAls = await probe()
  console.log(JSON.stringify({ primed, status: page.status, page: page.text, before, afterPage, afterAls }))
} finally {
  await f.close()
}
