"""``client.steps``: getRunStep, listRunSteps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from .._config import Headers
from .._pagination import AsyncPaginator
from ..models.pages import Page
from ..models.steps import RunStep, RunStepInclude
from ._base import AsyncResource, Timeout, list_of
from ._validate import check_include, path_id
from .runs import run_path

__all__ = ["AsyncSteps"]


class AsyncSteps(AsyncResource):
    async def retrieve(
        self,
        thread_id: str,
        run_id: str,
        step_id: str,
        *,
        include: Sequence[RunStepInclude] | None = None,
        timeout: float | Timeout | None = None,
        extra_headers: Headers | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> RunStep:
        """Get a run step (GET /threads/{thread_id}/runs/{run_id}/steps/{step_id})."""
        path = f"{run_path(thread_id, run_id)}/steps/{path_id('step_id', step_id)}"
        return await self._client.request(
            "GET",
            path,
            cast_to=RunStep,
            query=check_include(include),
            timeout=timeout,
            extra_headers=extra_headers,
            extra_query=extra_query,
            extra_body=extra_body,
        )

    def list(
        self,
        thread_id: str,
        run_id: str,
        *,
        limit: int | None = None,
        order: Literal["asc", "desc"] | None = None,
        after: str | None = None,
        before: str | None = None,
        include: Sequence[RunStepInclude] | None = None,
        max_items: int | None = None,
        timeout: float | Timeout | None = None,
        extra_headers: Headers | None = None,
        extra_query: Mapping[str, Any] | None = None,
    ) -> AsyncPaginator[RunStep]:
        """List a run's steps (GET /threads/{thread_id}/runs/{run_id}/steps)."""
        path = f"{run_path(thread_id, run_id)}/steps"
        include_pairs = check_include(include)
        return list_of(
            self,
            path,
            Page[RunStep],
            limit=limit,
            order=order,
            after=after,
            before=before,
            max_items=max_items,
            timeout=timeout,
            extra_headers=extra_headers,
            extra_query=extra_query,
            **{"include[]": [value for _, value in include_pairs] or None},
        )
