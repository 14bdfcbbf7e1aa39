"""Frozen attrs models for every object of the Assistants API.

Unknown fields are kept (``model_extra``), unknown variants decode to ``Unknown``, and
``to_dict()`` gives back the JSON the API sent.
"""

from .._model import Model, Unknown
from .assistants import *  # noqa: F403
from .assistants import __all__ as _assistants
from .events import *  # noqa: F403
from .events import __all__ as _events
from .messages import *  # noqa: F403
from .messages import __all__ as _messages
from .pages import Page
from .runs import *  # noqa: F403
from .runs import __all__ as _runs
from .shared import *  # noqa: F403
from .shared import __all__ as _shared
from .steps import *  # noqa: F403
from .steps import __all__ as _steps
from .threads import *  # noqa: F403
from .threads import __all__ as _threads

__all__ = [
    "Model",
    "Page",
    "Unknown",
    *_assistants,
    *_events,
    *_messages,
    *_runs,
    *_shared,
    *_steps,
    *_threads,
]
