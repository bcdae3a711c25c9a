"""The what-if's baseline-against-policy table as rows of text, for the terminal and the page."""

from __future__ import annotations

from neocloud.economics.whatif.figures import RunFigures
from neocloud.economics.whatif.wording import money, share, wait


def comparison_rows(baseline: RunFigures, run: RunFigures, currency: str) -> list[list[str]]:
    """Baseline against the policy's run, row by row: money, utilisation, internal teams' cost."""
    b, s, c = baseline, run, currency
    return [
        ["external revenue", money(b.total.revenue, c), money(s.total.revenue, c)],
        ["cost of capacity used", money(b.total.used_cost, c), money(s.total.used_cost, c)],
        ["idle cost", money(b.total.idle_cost, c), money(s.total.idle_cost, c)],
        ["gross margin", money(b.total.gross_margin, c), money(s.total.gross_margin, c)],
        [
            "margin after idle",
            money(b.total.margin_after_idle, c),
            money(s.total.margin_after_idle, c),
        ],
        ["GPU utilisation", share(b.total.utilisation), share(s.total.utilisation)],
        ["internal wait, average", wait(b.internal.wait_avg_s), wait(s.internal.wait_avg_s)],
        ["internal wait, p95", wait(b.internal.wait_p95_s), wait(s.internal.wait_p95_s)],
        ["internal completion, average", wait(b.internal.jct_avg_s), wait(s.internal.jct_avg_s)],
        ["internal completion, p95", wait(b.internal.jct_p95_s), wait(s.internal.jct_p95_s)],
    ]
