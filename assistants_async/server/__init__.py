"""The Assistants server (being built): the fake server's engine served durably.

So far: the store interface (``_store``) with three implementations (``_memory``,
``_sqlite``, ``_postgres``), the run engine (``_engine``), the handlers (``_handlers``,
``_runs``) and the aiohttp app (``_app``), on which ``assistants_async.testing`` builds
the fake server. Nothing here is imported by the client.
"""
