"""The policy's `[correlation]` table (contract 15): many open incidents on one configuration
item or service within a window suggest a parent incident to the service desk, or open one.

[correlation]
threshold = 3            # open incidents on one key within `window`; 0 turns correlation off
window = "1h"            # round the clock; one suggestion (or parent) per key and window
by = ["ci"]              # what incidents are grouped by: "ci", "service" or both
action = "suggest"       # or "open_parent": open a parent incident and link them to it
notify = "service-desk"  # the group told (and the parent's group); default: routing.levels.L1
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.calendar import TWENTY_FOUR_SEVEN, parse_duration


class CorrelationPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: Annotated[int, Field(ge=0, le=1000)] = 3
    window: str = "1h"
    by: tuple[Literal["ci", "service"], ...] = ("ci",)
    action: Literal["suggest", "open_parent"] = "suggest"
    notify: str | None = None

    @field_validator("window")
    @classmethod
    def _window(cls, window: str) -> str:
        if parse_duration(window, TWENTY_FOUR_SEVEN) <= 0:
            raise ValueError("the window must be longer than 0s")
        return window

    def window_seconds(self) -> float:
        return parse_duration(self.window, TWENTY_FOUR_SEVEN)
