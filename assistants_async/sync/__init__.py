"""The blocking client: ``from assistants_async.sync import Client``.

Every method is derived from ``AsyncClient``'s, so the two have the same names,
parameters and return types; paginators iterate with ``for``.
"""

from ._client import Client
from ._paginator import SyncPaginator
from ._stream import SyncAssistantStream

__all__ = ["Client", "SyncAssistantStream", "SyncPaginator"]
