"""The service layer: what incidentflow does for a principal, whoever the client (the HTTP API
today, a web console later). It speaks to Temporal and the record store and refuses with the
named errors of `errors.py`; it knows nothing of HTTP."""
