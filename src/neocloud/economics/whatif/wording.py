"""Figures as people read them: money to the cent, durations, percentages and wait changes.

Pure text from numbers. The verdict's sentence is written with these, and so are the what-if's
terminal tables and HTML page, so a figure reads the same everywhere.
"""

from __future__ import annotations

from decimal import Decimal

from neocloud.domain.money import to_cents


def money(amount: Decimal, currency: str) -> str:
    """$1,234.57 for dollars; 1,234.57 EUR otherwise (rounded to the cent for reading)."""
    cents = to_cents(amount)
    text = f"{abs(cents):,.2f}"
    sign = "-" if cents < 0 else ""
    return f"{sign}${text}" if currency == "USD" else f"{sign}{text} {currency}"


def duration(seconds: float) -> str:
    """Seconds for reading: 45 seconds, 12.5 minutes, 3.2 hours, 4.1 days."""
    value = abs(seconds)
    if value < 60:
        return f"{value:.0f} seconds"
    if value < 3600:
        return f"{value / 60:.1f} minutes"
    if value < 86_400:
        return f"{value / 3600:.1f} hours"
    return f"{value / 86_400:.1f} days"


def percent(fraction: Decimal) -> str:
    """0.3 → 30 %; 0.125 → 12.5 %."""
    value = (fraction * 100).normalize()
    text = f"{value:f}" if value == value.to_integral_value() else f"{value:.1f}"
    return f"{text.split('.')[0] if text.endswith('.0') else text} %"


def share(fraction: Decimal | float) -> str:
    """A utilisation for reading: 0.1234 → 12.3 %."""
    return f"{float(fraction) * 100:.1f} %"


def wait(seconds: float | None) -> str:
    """A wait or completion time for reading ("-" when there is none)."""
    return "-" if seconds is None else duration(seconds)


def change(seconds: float | None) -> str:
    """A change of a wait for reading: +12.0 minutes, −3.0 seconds, ±0 seconds."""
    if seconds is None:
        return "-"
    sign = "+" if seconds > 0 else "−" if seconds < 0 else "±"
    return f"{sign}{duration(seconds)}"
