"""Inbound e-mail (contract 13): an SMTP listener (aiosmtpd) or an IMAP mailbox poller hands
each message to the record store before it is acknowledged; the mail desk then applies it
(a new incident, a public comment, a reopen) through the API's service layer.

`python -m mailin` runs it; `make run` starts it beside the worker and the API.
"""
