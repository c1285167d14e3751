"""Monthly cost of a desk: a small table of indicative public list prices by region and compute type, which the
policy overrides (a bundle's `monthly_price` / `hourly_price`, the optimizer's `prices`).

Figures are USD, Windows with its license included, the default root and user volumes; they are the order of
magnitude of the AWS pricing page, not a quote. Put your contract's prices in the policy.
"""

from __future__ import annotations

from dataclasses import dataclass

from autopilot.domain.kernel.policy import Policy, Profile
from autopilot.domain.kernel.running_mode_policy import DEFAULT_PRICES, Price

DEFAULT_AUTOSTOP_HOURS = 80  # a month of office use: ~4 h a day on 20 working days

# region -> how far its prices are from eu-west-1's (the optimizer's defaults are eu-west-1's)
REGION_FACTORS: dict[str, float] = {
    "us-east-1": 0.93,
    "us-west-2": 0.93,
    "ca-central-1": 1.0,
    "eu-west-1": 1.0,
    "eu-west-2": 1.04,
    "eu-central-1": 1.05,
    "ap-southeast-1": 1.08,
    "ap-southeast-2": 1.1,
    "ap-northeast-1": 1.12,
}
COMPUTE_WORDS = ("VALUE", "STANDARD", "PERFORMANCE", "POWERPRO", "POWER")


def table_price(region: str, compute: str) -> Price | None:
    base = DEFAULT_PRICES.get(compute)
    factor = REGION_FACTORS.get(region)
    if base is None or factor is None:
        return None
    return Price(
        monthly=round(base.monthly * factor, 2),
        hourly=round(base.hourly * factor, 3),
        autostop_base=round(base.autostop_base * factor, 2),
    )


def compute_of(policy: Policy, profile: Profile) -> str | None:
    """The profile's compute type, else the one its bundle's name says ("Power with Windows 10": POWER)."""
    if profile.compute:
        return profile.compute
    name = (policy.bundles[profile.bundle].name or "").upper().split()
    return next((word for word in COMPUTE_WORDS if name and name[0] == word), None)


@dataclass(frozen=True)
class DeskPrice:
    monthly: float | None  # what one desk of the profile costs a month (None: no price known)
    source: str

    def as_dict(self) -> dict[str, object]:
        return {"monthly": self.monthly, "source": self.source}


def profile_price(
    policy: Policy, profile_name: str, region: str, *, autostop_hours: int = DEFAULT_AUTOSTOP_HOURS
) -> DeskPrice:
    """One desk of `profile_name` for a month: ALWAYS_ON at the monthly price, AUTO_STOP at its fixed fee plus
    `autostop_hours` hours. Bundle prices in the policy first, then the optimizer's prices when the policy
    sets them, then this table for the region, then the optimizer's defaults."""
    profile = policy.profiles[profile_name]
    bundle = policy.bundles[profile.bundle]
    compute = compute_of(policy, profile)
    explicit = "prices" in policy.optimizer.model_fields_set
    candidates: list[tuple[Price | None, str]] = [
        (policy.optimizer.prices.get(compute) if compute and explicit else None, "policy optimizer.prices"),
        (table_price(region, compute) if compute else None, f"list price {region}"),
        (policy.optimizer.prices.get(compute) if compute else None, "default list price"),
    ]
    price, source = next(((p, s) for p, s in candidates if p is not None), (None, ""))
    monthly = bundle.monthly_price if bundle.monthly_price is not None else (price.monthly if price else None)
    hourly = bundle.hourly_price if bundle.hourly_price is not None else (price.hourly if price else None)
    base = price.autostop_base if price else 0.0
    if bundle.monthly_price is not None or bundle.hourly_price is not None:
        source = f"policy bundles.{profile.bundle}"
    if profile.running_mode == "ALWAYS_ON":
        return DeskPrice(monthly, source) if monthly is not None else DeskPrice(None, "no price")
    if hourly is None:
        return DeskPrice(None, "no price")
    return DeskPrice(round(base + hourly * autostop_hours, 2), f"{source}, {autostop_hours} h AutoStop")
