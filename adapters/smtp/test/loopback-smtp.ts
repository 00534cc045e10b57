// A real SMTP server on loopback (the smtp-server package), recording each message it accepts, parsed.
import type { AddressInfo } from 'node:net'
import { type ParsedMail, simpleParser } from 'mailparser'
import { SMTPServer } from 'smtp-server'

export interface LoopbackSmtpOptions {
  /** Answer RCPT TO with this SMTP code (451, 550, …) instead of accepting. */
  readonly refuseRecipientWith?: () => number | null
  readonly auth?: { readonly user: string; readonly pass: string }
  readonly tls?: { readonly key: string; readonly cert: string }
  /** Listen on this port (to come back where a stopped server was); default any free one. */
  readonly port?: number
}

export interface LoopbackSmtp {
  readonly port: number
  readonly received: (ParsedMail & { readonly secure: boolean; readonly user: string | null })[]
  close(): Promise<void>
}

export async function loopbackSmtp(options: LoopbackSmtpOptions = {}): Promise<LoopbackSmtp> {
  const received: LoopbackSmtp['received'] = []
  const server = new SMTPServer({
    logger: false,
    authOptional: !options.auth,
    ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : { disabledCommands: ['STARTTLS'] }),
    onAuth(auth, _session, callback) {
      if (auth.username === options.auth?.user && auth.password === options.auth?.pass)
        return callback(null, { user: auth.username })
      return callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }))
    },
    onRcptTo(_address, _session, callback) {
      const code = options.refuseRecipientWith?.() ?? null
      if (code === null) return callback()
      return callback(
        Object.assign(new Error(code >= 500 ? 'Mailbox unavailable' : 'Try again later'), {
          responseCode: code,
        }),
      )
    },
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (mail) => {
          received.push(
            Object.assign(mail, {
              secure: session.secure,
              user: (session.user as string | undefined) ?? null,
            }),
          )
          callback()
        },
        (error) => callback(error),
      )
    },
  })
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve))
  const { port } = server.server.address() as AddressInfo
  return { port, received, close: () => new Promise((resolve) => server.close(() => resolve())) }
}
