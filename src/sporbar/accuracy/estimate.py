"""Area-adjusted accuracy and area from a stratified random sample (Olofsson et al. 2014).

Pure numpy: the strata are the mapped classes, ``counts[i, j]`` is the number of sample
points mapped as class ``i`` whose reference class is ``j``, and ``mapped[i]`` the number of
map pixels of class ``i``. Equation numbers are those of Olofsson, Foody, Herold, Stehman,
Woodcock & Wulder (2014), "Good practices for estimating area and assessing accuracy of land
change", Remote Sensing of Environment 148, 42-57:

- eq. 4: error matrix in area proportions ``p_ij = W_i n_ij / n_i.``, ``W_i = A_m,i / A_tot``;
- eqs. 1-3: overall ``O = sum_j p_jj``, user's ``U_i = p_ii / p_i.``, producer's ``P_j = p_jj / p_.j``;
- eqs. 5-7: their variances (eq. 7 with the estimated reference pixel totals ``N_.j``);
- eqs. 9-10: area proportion ``p_.k = sum_i W_i n_ik / n_i.`` and its standard error;
- eq. 11-12 (as in the paper's section 5): area ``A_tot p_.k`` and a 95 % CI of ``1.96 SE``.

A stratum needs at least two sample points (the variances divide by ``n_i. - 1``); a mapped
class with no pixels has weight 0 and adds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from sporbar.errors import InputDataError

#: normal quantile of a two-sided 95 % confidence interval, as the paper uses it
Z95: Final = 1.96
M2_PER_HA: Final = 10_000.0


@dataclass(frozen=True)
class Estimate:
    """An estimate with its standard error and 95 % confidence interval half-width.

    Attributes:
        value: the estimate.
        se: its standard error (square root of the estimated variance).
    """

    value: float
    se: float

    @property
    def ci95(self) -> float:
        """Half-width of the 95 % confidence interval (``1.96 * se``)."""
        return Z95 * self.se

    def to_dict(self, digits: int = 6) -> dict[str, float]:
        """``{"estimate", "se", "ci95", "lower", "upper"}``, rounded to ``digits`` decimals."""
        v, h = self.value, self.ci95
        return {k: round(x, digits) for k, x in
                (("estimate", v), ("se", self.se), ("ci95", h), ("lower", v - h), ("upper", v + h))}


@dataclass(frozen=True)
class AccuracyReport:
    """The stratified estimates of one map.

    Attributes:
        classes: class names, in the order of the matrix rows and columns.
        counts: (k, k) sample counts, rows = map class (stratum), columns = reference class.
        mapped_pixels: (k,) map pixels per class.
        pixel_area_m2: area of one pixel in m2.
        proportions: (k, k) error matrix in estimated area proportions (eq. 4).
        overall: overall accuracy (eqs. 1, 5).
        users: user's accuracy per map class (eqs. 2, 6); None for a class not mapped.
        producers: producer's accuracy per reference class (eqs. 3, 7); None for a class
            absent from the reference labels (its estimated area is 0).
        area_ha: estimated area per class in hectares (eqs. 9-10 times the total area).
    """

    classes: tuple[str, ...]
    counts: np.ndarray
    mapped_pixels: np.ndarray
    pixel_area_m2: float
    proportions: np.ndarray
    overall: Estimate
    users: tuple[Estimate | None, ...]
    producers: tuple[Estimate | None, ...]
    area_ha: tuple[Estimate, ...]

    @property
    def mapped_area_ha(self) -> np.ndarray:
        """(k,) area mapped as each class, in hectares (what the map alone says)."""
        return np.asarray(self.mapped_pixels * self.pixel_area_m2 / M2_PER_HA, dtype=float)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: per class (map and estimated area, user's, producer's), overall, matrices."""

        def opt(e: Estimate | None) -> dict[str, float] | None:
            return None if e is None else e.to_dict()

        per_class = [
            {
                "class": name,
                "sample_size": int(self.counts[i].sum()),
                "mapped_pixels": int(self.mapped_pixels[i]),
                "mapped_area_ha": round(float(self.mapped_area_ha[i]), 4),
                "area_ha": self.area_ha[i].to_dict(4),
                "users_accuracy": opt(self.users[i]),
                "producers_accuracy": opt(self.producers[i]),
            }
            for i, name in enumerate(self.classes)
        ]
        return {
            "method": "Olofsson et al. 2014, stratified estimator (strata = mapped classes), 95 % CI = 1.96 SE",
            "classes": list(self.classes),
            "sample_size": int(self.counts.sum()),
            "pixel_area_m2": self.pixel_area_m2,
            "total_area_ha": round(float(self.mapped_area_ha.sum()), 4),
            "overall_accuracy": self.overall.to_dict(),
            "per_class": per_class,
            "error_matrix_counts": self.counts.astype(int).tolist(),
            "error_matrix_area_proportions": np.round(self.proportions, 8).tolist(),
        }


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Num / den, 0 where den is 0 (an empty stratum contributes nothing)."""
    out = np.zeros(np.broadcast(num, den).shape)
    np.divide(num, den, out=out, where=den != 0)
    return out


def stratified_estimates(
    counts: np.ndarray, mapped_pixels: Sequence[float], *, classes: Sequence[str], pixel_area_m2: float
) -> AccuracyReport:
    """Accuracy and area estimates of a map from its stratified random sample.

    Args:
        counts: (k, k) sample counts, rows = map class (stratum), columns = reference class.
        mapped_pixels: (k,) pixels mapped as each class (the stratum sizes ``N_i.``).
        classes: the k class names, in matrix order.
        pixel_area_m2: area of one map pixel in m2.

    Returns:
        The report (error matrix in area proportions, accuracies and areas with 95 % CIs).

    Raises:
        InputDataError: shapes disagree, a mapped class has fewer than two sample points
            (unless every pixel of it is in the sample), or no pixel is mapped at all.
    """
    n = np.asarray(counts, dtype=float)
    big_n = np.asarray(mapped_pixels, dtype=float)
    k = len(classes)
    if n.shape != (k, k) or big_n.shape != (k,):
        raise InputDataError(f"error matrix {n.shape} and mapped pixels {big_n.shape} do not fit {k} classes")
    if big_n.sum() <= 0:
        raise InputDataError("no pixel is mapped as any class: nothing to assess")
    n_i = n.sum(axis=1)
    # A stratum whose every pixel is in the sample (a class mapped on a pixel or two) is
    # enumerated, not sampled: its share is known exactly, so it adds no variance (the finite
    # population correction 1 - n/N is 0) and one point is enough.
    census = (big_n > 0) & (n_i >= big_n)
    sampled = np.where(census, 0.0, 1.0)
    thin = [classes[i] for i in range(k) if big_n[i] > 0 and n_i[i] < 2 and not census[i]]
    if thin:
        raise InputDataError(
            f"mapped class(es) {', '.join(thin)} have fewer than 2 sample points; "
            "a stratum needs two for a variance (raise accuracy.min_per_class)"
        )
    w = big_n / big_n.sum()
    share = _ratio(n, n_i[:, None])  # n_ij / n_i.
    p = w[:, None] * share  # eq. 4
    dof = np.maximum(n_i - 1, 1)
    # eq. 10 summands, and the within-stratum binomial variance used by eqs. 5-7
    var_share = share * (1 - share) / dof[:, None] * sampled[:, None]

    diag = np.diag(share)  # U_i = n_ii / n_i.
    var_diag = diag * (1 - diag) / dof * sampled
    overall = Estimate(float(np.trace(p)), float(np.sqrt(np.sum(w**2 * var_diag))))  # eqs. 1, 5
    users = tuple(
        Estimate(float(diag[i]), float(np.sqrt(var_diag[i]))) if big_n[i] > 0 else None for i in range(k)
    )  # eqs. 2, 6
    col = p.sum(axis=0)  # p_.j, eq. 9
    n_hat_col = (_ratio(big_n, n_i)[:, None] * n).sum(axis=0)  # N_.j: estimated reference pixel totals
    producers: list[Estimate | None] = []
    for j in range(k):
        if col[j] <= 0:
            producers.append(None)
            continue
        pj = float(p[j, j] / col[j])  # eq. 3
        others = sum(big_n[i] ** 2 * var_share[i, j] for i in range(k) if i != j)
        v = (big_n[j] ** 2 * (1 - pj) ** 2 * var_diag[j] + pj**2 * others) / n_hat_col[j] ** 2
        producers.append(Estimate(pj, float(np.sqrt(v))))  # eq. 7
    total_ha = float(big_n.sum()) * pixel_area_m2 / M2_PER_HA
    se_col = np.sqrt(np.sum(w[:, None] ** 2 * var_share, axis=0))  # eq. 10
    area = tuple(Estimate(float(col[j]) * total_ha, float(se_col[j]) * total_ha) for j in range(k))
    return AccuracyReport(
        classes=tuple(classes),
        counts=n.astype(np.int64),
        mapped_pixels=big_n.astype(np.int64),
        pixel_area_m2=float(pixel_area_m2),
        proportions=p,
        overall=overall,
        users=users,
        producers=tuple(producers),
        area_ha=area,
    )


def cochran_sample_size(weights: Sequence[float], users_accuracy: float | Sequence[float], target_se: float) -> int:
    """Total sample size for a target standard error of overall accuracy (Olofsson 2014 eq. 13).

    ``n = (sum_i W_i S_i / S(O))^2`` with ``S_i = sqrt(U_i (1 - U_i))``.

    Args:
        weights: mapped area proportion of each class (sums to 1).
        users_accuracy: the user's accuracy expected of each class (0..1), or one for all.
        target_se: the wanted standard error of the overall accuracy.

    Returns:
        The total number of sample points, rounded up.
    """
    w = np.asarray(weights, dtype=float)
    u = np.broadcast_to(np.asarray(users_accuracy, dtype=float), w.shape)
    return int(np.ceil((float(np.sum(w * np.sqrt(u * (1 - u)))) / target_se) ** 2))


def allocate(total: int, mapped_pixels: Sequence[int], *, minimum: int) -> list[int]:
    """Sample points per stratum: proportional to mapped area, at least ``minimum`` each.

    Olofsson et al. (2014, section 5.1.2) advise moving points from the proportional allocation
    to the rare classes so their user's accuracy can be estimated; here each class gets
    ``max(minimum, round(total * W_i))``, never more points than it has pixels, 0 if unmapped.
    """
    big_n = np.asarray(mapped_pixels, dtype=float)
    w = big_n / big_n.sum() if big_n.sum() > 0 else big_n
    return [int(min(big_n[i], max(minimum, round(total * w[i])))) if big_n[i] > 0 else 0 for i in range(len(big_n))]


__all__ = ["Z95", "AccuracyReport", "Estimate", "allocate", "cochran_sample_size", "stratified_estimates"]
