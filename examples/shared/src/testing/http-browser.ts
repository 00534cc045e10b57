// A browser without a screen, for driving an example over real HTTP: it keeps cookies, sends `Origin`
// with forms as browsers do, and never follows redirects, so tests see each one.

/** One response, read whole. */
export interface Answer {
  readonly status: number
  readonly location: string | null
  readonly text: string
  readonly headers: Headers
  /** The raw `Set-Cookie` lines of this response. */
  readonly setCookies: readonly string[]
}

/** A cookie jar and fetch for one origin. */
export interface HttpBrowser {
  get(path: string, headers?: Record<string, string>): Promise<Answer>
  /** A form post; `origin` overrides the `Origin` header (a cross-site form). */
  post(path: string, form: Record<string, string>, options?: { readonly origin?: string }): Promise<Answer>
  /** The cookies the browser holds now, by name. */
  readonly cookies: Map<string, string>
}

/** A fresh browser (no cookies) for the app at `origin`. */
export function httpBrowser(origin: string): HttpBrowser {
  const cookies = new Map<string, string>()
  const send = async (path: string, init: RequestInit & { headers: Headers }): Promise<Answer> => {
    if (cookies.size > 0)
      init.headers.set('cookie', [...cookies].map(([name, value]) => `${name}=${value}`).join('; '))
    const response = await fetch(new URL(path, origin), { ...init, redirect: 'manual' })
    const setCookies = response.headers.getSetCookie()
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';')
      const at = pair.indexOf('=')
      const name = pair.slice(0, at).trim()
      const cleared = attributes.some(
        (a) =>
          /^\s*max-age=0\s*$/i.test(a) ||
          (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1] ?? '') < Date.now()),
      )
      if (cleared) cookies.delete(name)
      else cookies.set(name, pair.slice(at + 1).trim())
    }
    return {
      status: response.status,
      location: response.headers.get('location'),
      text: await response.text(),
      headers: response.headers,
      setCookies,
    }
  }
  return {
    cookies,
    get: (path, headers = {}) => send(path, { headers: new Headers(headers) }),
    post: (path, form, options = {}) =>
      send(path, {
        method: 'POST',
        headers: new Headers({
          'content-type': 'application/x-www-form-urlencoded',
          origin: options.origin ?? origin,
        }),
        body: new URLSearchParams(form).toString(),
      }),
  }
}

/** The confirm page's form token, as a browser would post it back. */
export function formToken(html: string): string {
  const token = /name="form" value="([^"]+)"/.exec(html)?.[1]
  if (!token) throw new Error(`no confirm form on this page:\n${html}`)
  return token
}
