"""The Assistants server (being built): the fake server's engine served durably.

So far: the store interface (``_store``). Nothing here is imported by the client.
"""
