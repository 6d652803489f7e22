// Package slack posts Block Kit messages to Slack, through an incoming
// webhook or the chat.postMessage Web API method, and says which failures
// are worth retrying.
//
// Both transports are safe for concurrent use. Post blocks until Slack has
// answered or ctx ends; it never retries by itself (the caller, package
// alert, owns retries, ordering and the outbox). Errors are *Error, or the
// context's error; use Retryable to decide what to do. Errors never contain
// the webhook URL's secret path or the bot token.
package slack
