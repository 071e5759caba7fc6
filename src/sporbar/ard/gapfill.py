"""The stated rule for pixels a period saw no clear observation of: the nearest period's composite.

Norway's summers are cloudy: on the demo a fifth to a third of each tile has no clear
observation in one of two periods, and a map cannot classify a pixel whose features are
missing. FORCE and eo-learn fill such gaps by temporal interpolation; with a few long periods
the simplest defensible rule is to take the composite of the period nearest in time that has
a clear observation there (the earlier one on a tie). Every band and index is taken from that
one period, so a filled pixel is a real composite, never a blend. The clear count of the
empty period stays 0, so a filled pixel can always be told from an observed one, and the item
states the rule and the filled share of each period (``sporbar:gap_fill``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: ARD item property: ``{"method": ard.gap_fill, "filled": {period id: share of the tile's pixels filled}}``
GAP_FILL_PROPERTY = "sporbar:gap_fill"


def nearest_first(centres: Sequence[float], p: int) -> list[int]:
    """The other periods, nearest in time to period ``p`` first (the earlier one on a tie)."""
    return sorted((q for q in range(len(centres)) if q != p), key=lambda q: (abs(centres[q] - centres[p]), q))


def fill_from_nearest_period(
    products: np.ndarray, centres: Sequence[float], targets: Sequence[bool] | None = None
) -> np.ndarray:
    """Fill, in place, each period's pixels without a clear observation from the nearest period with one.

    Args:
        products: float32 (period, value + 1, y, x) as :func:`sporbar.ard.composite.period_products`
            returns: band medians and indices, then the clear count (left as it is).
        centres: per period, its middle in any time unit (e.g. days since an epoch).
        targets: per period, whether it may be filled (default: all). A period that holds no
            scene at all is a config mistake to report (``EmptyPeriodError`` downstream), not a gap.

    Returns:
        bool (period, y, x): the pixels filled.
    """
    count = products[:, -1]
    filled = np.zeros(count.shape, bool)
    for p in range(products.shape[0]):
        if targets is not None and not targets[p]:
            continue
        todo = count[p] == 0
        for q in nearest_first(centres, p):
            take = todo & (count[q] > 0)
            if take.any():
                products[p, :-1, take] = products[q, :-1, take]
                filled[p] |= take
                todo &= ~take
    return filled
