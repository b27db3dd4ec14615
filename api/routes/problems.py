"""/problems: problem records proposed by incidents resolved with a workaround or with no root
cause. Agents, managers and admins read them; the incident workflow creates them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from api.deps import AuthorizedDep, ServicesDep
from api.errors import documented
from api.service.errors import Forbidden, NotFound, Unauthorized, Unprocessable
from domain.kedb import PROBLEM_ID, Problem, ProblemsPage
from recordstore.problems import ProblemStore

router = APIRouter(
    prefix="/problems",
    tags=["problems"],
    responses=documented(Unauthorized, Forbidden, Unprocessable),
)

ProblemId = Annotated[str, Path(alias="id", pattern=PROBLEM_ID, examples=["PRB0000001"])]


def problem_store(services: ServicesDep) -> ProblemStore:
    return ProblemStore(services.store.database)


Problems = Annotated[ProblemStore, Depends(problem_store)]


@router.get("", response_model=ProblemsPage)
async def list_problems(
    problems: Problems,
    principal: AuthorizedDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ProblemsPage:
    """Newest first; follow `next_cursor` for the next page."""
    return await problems.list(limit=limit, cursor=cursor)


@router.get("/{id}", response_model=Problem, responses=documented(NotFound))
async def get_problem(
    problem_id: ProblemId, problems: Problems, principal: AuthorizedDep
) -> Problem:
    found = await problems.get(problem_id)
    if found is None:
        raise NotFound(f"problem {problem_id} not found")
    return found
