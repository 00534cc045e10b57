export { type TwilioNotifierOptions, twilioNotifier } from './twilio-notifier.js'
export { type WebhookNotifierOptions, webhookNotifier } from './webhook-notifier.js'
