"""The `optimizer` section of the policy: when an hourly (AUTO_STOP) desk should become monthly (ALWAYS_ON),
and back. Prices are public list prices per compute type; override them for your region and bundles."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


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
    skip_tag: str = "AutopilotSkipOptimizer"
    prices: dict[str, Price] = Field(default_factory=lambda: dict(DEFAULT_PRICES))
