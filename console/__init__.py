"""The web console: server-rendered pages for people, on the API's own app.

Another client of the service layer (`api/service/`), as the JSON routes are: the pages hold no
lifecycle rule and no authorisation of their own. A signed-in person is the principal their
token (or OpenID Connect JWT) names, resolved exactly as for a bearer token (`session.py`);
what they may reach is `api/permissions.py`'s table, what they may do on an incident the view's
`allowed_actions`.
"""
