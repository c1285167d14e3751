"""The `optimizer` section of the policy: when an hourly (AUTO_STOP) desk should become monthly (ALWAYS_ON),
and back. Prices are public list prices per compute type; override them for your region and bundles."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

MonthHours = Annotated[int, Field(ge=0, le=744)]


class Price(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    monthly: float = Field(gt=0, description="ALWAYS_ON price per month")
    hourly: float = Field(gt=0, description="AUTO_STOP price per hour")
    autostop_base: float = Field(default=0, ge=0, description="AUTO_STOP fixed monthly fee (storage)")

    @property
    def break_even_hours(self) -> float:
        """Billable hours a month above which ALWAYS_ON is cheaper."""
        return (self.monthly - self.autostop_base) / self.hourly


# Indicative list prices (USD, Windows, license included, eu-west-1 order of magnitude); override in the policy.
DEFAULT_PRICES: dict[str, Price] = {
    "VALUE": Price(monthly=27.0, hourly=0.22, autostop_base=9.75),
    "STANDARD": Price(monthly=36.0, hourly=0.30, autostop_base=9.75),
    "PERFORMANCE": Price(monthly=61.0, hourly=0.55, autostop_base=9.75),
    "POWER": Price(monthly=81.0, hourly=0.68, autostop_base=9.75),
    "POWERPRO": Price(monthly=148.0, hourly=1.33, autostop_base=9.75),
}


class Optimizer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    # Off by default: decisions are computed and reported, nothing is changed until an operator opts in.
    dry_run: bool = True
    # A desk carrying this tag key (any value) is reported but never switched.
    skip_tag: str = "AutopilotSkipOptimizer"
    # A desk carrying this tag key (any value) is a standby desk: excluded, like the WorkSpaces standby pairs that
    # DescribeWorkspaces reports (RelatedWorkspaces / StandbyWorkspacesProperties).
    standby_tag: str = "AutopilotStandby"
    prices: dict[str, Price] = Field(default_factory=lambda: dict(DEFAULT_PRICES))
    # Hours a month AWS runs (and bills) an AUTO_STOP desk of a directory for its maintenance window, keyed by the
    # directory as the policy's sites name it (DNS name or d-… id). Added to every desk of that directory.
    maintenance_hours: dict[str, MonthHours] = Field(default_factory=dict)
    # AutoStop timeout for desks without a profile (no desk record), and the one assumed when estimating what an
    # ALWAYS_ON desk would cost by the hour.
    default_autostop_hours: int = Field(default=1, ge=1, le=48)
    # Guard-rail: at most this many running-mode changes per run; the rest are reported and retried next run.
    max_switches_per_run: int = Field(default=500, ge=0)

    def price_for(self, compute: str | None) -> Price | None:
        return self.prices.get(compute) if compute else None
