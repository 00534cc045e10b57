export { classifySmtpError, htmlFromText, type SmtpNotifierOptions, smtpNotifier } from './smtp-notifier.js'
