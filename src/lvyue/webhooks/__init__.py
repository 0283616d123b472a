"""Telling the world what happened: signed webhooks to subscribers, and the live event stream
(server-sent events) for signed-in users. Both are fed from the same notices, written in the
transaction of the change that caused them."""
