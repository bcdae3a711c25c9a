"""Money: Decimal amounts with a currency, rounded half-up to the cent only where a line is made."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
DEFAULT_CURRENCY = "USD"
SECONDS_PER_HOUR = Decimal(3600)
HOURS_PER_YEAR = Decimal(8760)


def to_cents(amount: Decimal) -> Decimal:
    """Round an amount half-up to the cent (the rule for every invoice line)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def as_decimal(value: Decimal | int | str) -> Decimal:
    """Convert to Decimal without ever passing through float."""
    if isinstance(value, float):  # pragma: no cover - guarded for callers outside mypy
        raise TypeError("money must not be a float")
    return value if isinstance(value, Decimal) else Decimal(value)


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of a currency; arithmetic refuses to mix currencies."""

    amount: Decimal
    currency: str = DEFAULT_CURRENCY

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def cents(self) -> Money:
        """This amount rounded half-up to the cent."""
        return Money(to_cents(self.amount), self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")

    @staticmethod
    def zero(currency: str = DEFAULT_CURRENCY) -> Money:
        """Zero in a currency."""
        return Money(Decimal(0), currency)
