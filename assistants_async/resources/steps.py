"""``client.steps``: getRunStep, listRunSteps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from .._pagination import AsyncPaginator
from ..models.pages import Page
from ..models.steps import RunStep, RunStepInclude
from ._base import AsyncResource, CallOptions, ListOptions, keywords, list_of
from ._validate import check_include, path_id
from .runs import run_path

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["AsyncSteps"]


class AsyncSteps(AsyncResource):
    @keywords()
    async def retrieve(
        self,
        thread_id: str,
        run_id: str,
        step_id: str,
        *,
        include: Sequence[RunStepInclude] | None = None,
        **options: Unpack[CallOptions],
    ) -> RunStep:
        """Get a run step (GET /threads/{thread_id}/runs/{run_id}/steps/{step_id})."""
        path = f"{run_path(thread_id, run_id)}/steps/{path_id('step_id', step_id)}"
        return await self._client.request(
            "GET",
            path,
            cast_to=RunStep,
            query=check_include(include),
            **options,
        )

    @keywords(options=ListOptions)
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
        **options: Unpack[ListOptions],
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
            filters={"include[]": [value for _, value in include_pairs] or None},
            **options,
        )
