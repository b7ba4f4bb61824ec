"""Geometric verification: does this catalog cover appear in the photo? (SIFT + RANSAC)

Local features of the photo are matched to those of a candidate cover (Lowe's ratio
test), and a homography is fitted with RANSAC; the number of inliers of a sane
homography (the projected cover is a convex quadrilateral of plausible size) measures how
surely the cover is in the photo. A different book rarely gets more than ~6 inliers;
the right one usually gets dozens, even when tilted, blurred or partly hidden.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

PHOTO_SIDE = 640         # long side of the photo for feature extraction
COVER_SIDE = 256         # long side of a catalog cover for feature extraction
RATIO = 0.8              # Lowe's ratio test


@dataclass
class Verification:
    inliers: int
    matches: int
    quad: np.ndarray | None      # the cover's corners in the photo (photo coordinates)


class Verifier:
    """SIFT features of photos and covers (covers memoised, LRU) and homography checks."""

    def __init__(self, cache_size: int = 4096, nfeatures: int = 1500):
        import cv2

        self.cv2 = cv2
        self.sift = cv2.SIFT_create(nfeatures=nfeatures)
        self.cover_sift = cv2.SIFT_create(nfeatures=500)
        self.matcher = cv2.BFMatcher(cv2.NORM_L2)
        self._cache: OrderedDict = OrderedDict()
        self.cache_size = cache_size

    def photo_features(self, rgb: np.ndarray):
        cv2 = self.cv2
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
        s = min(1.0, PHOTO_SIDE / max(gray.shape))
        if s < 1:
            gray = cv2.resize(gray, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        kp, des = self.sift.detectAndCompute(gray, None)
        pts = np.float32([k.pt for k in kp]) / s if kp else np.zeros((0, 2), np.float32)
        return pts, des

    def cover_features(self, key, path: str):
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        cv2 = self.cv2
        gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if gray is None:
            feats = (np.zeros((0, 2), np.float32), None, (1, 1))
        else:
            s = COVER_SIDE / max(gray.shape)
            g = cv2.resize(gray, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC)
            kp, des = self.cover_sift.detectAndCompute(g, None)
            pts = np.float32([k.pt for k in kp]) if kp else np.zeros((0, 2), np.float32)
            feats = (pts, des, g.shape[:2])
        self._cache[key] = feats
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return feats

    def verify(self, photo_feats, cover_feats, photo_shape) -> Verification:
        cv2 = self.cv2
        p_pts, p_des = photo_feats
        c_pts, c_des, (ch, cw) = cover_feats
        if p_des is None or c_des is None or len(p_des) < 4 or len(c_des) < 4:
            return Verification(0, 0, None)
        pairs = self.matcher.knnMatch(c_des, p_des, k=2)
        good = [m for m, n in (p for p in pairs if len(p) == 2) if m.distance < RATIO * n.distance]
        if len(good) < 6:
            return Verification(0, len(good), None)
        src = c_pts[[m.queryIdx for m in good]]
        dst = p_pts[[m.trainIdx for m in good]]
        H, mask = cv2.findHomography(src, dst, cv2.RANSAC, 6.0, maxIters=500, confidence=0.99)
        if H is None or mask is None:
            return Verification(0, len(good), None)
        corners = np.float32([[0, 0], [cw, 0], [cw, ch], [0, ch]]).reshape(-1, 1, 2)
        quad = cv2.perspectiveTransform(corners, H).reshape(4, 2)
        if not plausible_quad(quad, photo_shape):
            return Verification(0, len(good), None)
        # a homography also fits matches crowded in one spot: count distinct inlier points
        inl = dst[mask.ravel().astype(bool)]
        distinct = len(np.unique(np.round(inl / 4.0), axis=0)) if len(inl) else 0
        return Verification(int(distinct), len(good), quad)


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
