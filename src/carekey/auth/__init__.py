"""Who is asking: passwords, the second factor, signed tokens, office sessions and throttling.

``carekey.access`` decides what an authenticated ``Actor`` may do; this package establishes the
actor. The administration UI and the API sign in through the same use cases here
(``service.py``): password, then a TOTP code that works once, each attempt throttled by
backoff, and a server-side session that signing out ends.
"""
