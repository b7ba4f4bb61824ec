"""Sanity of a cover outline found in a photo (used by geometric verification).

A homography fitted to tentative matches also "succeeds" on chance matches; the cover it
implies is then twisted, tiny or degenerate. :func:`plausible_quad` rejects those.
"""

from __future__ import annotations

import numpy as np


def plausible_quad(quad: np.ndarray, shape, *, min_area: float = 0.02,
                   min_side_ratio: float = 0.15) -> bool:
    """Is a projected cover outline convex, of a sensible size and not degenerate?

    ``min_area`` is the smallest area as a share of the photo; ``min_side_ratio`` the
    shortest side over the longest.
    """
    import cv2

    if not np.all(np.isfinite(quad)):
        return False
    if not cv2.isContourConvex(quad.astype(np.float32).reshape(-1, 1, 2)):
        return False
    H, W = shape[:2]
    area = cv2.contourArea(quad.astype(np.float32))
    if area < min_area * H * W or area > 4.0 * H * W:
        return False
    sides = np.linalg.norm(quad - np.roll(quad, 1, axis=0), axis=1)
    return sides.min() > min_side_ratio * sides.max()
