"""The domain: the words of home care, the value objects and the rules that hold them together.

Nothing here does I/O. The store persists these concepts; the services use them; the rules
(invariants and policies) live here so there is one obvious place to read them.
"""
