"""Signing in to the administration: the API's token endpoints and the UI's sign-in pages,
over the use cases of ``carekey.auth``."""
