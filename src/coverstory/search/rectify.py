"""Finding the cover in a photo and warping it flat (OpenCV), with fallbacks.

:func:`cover_candidates` proposes a few crops of the photo that may be the cover, best
guess first: convex quadrilaterals found on edge maps at several thresholds (warped to a
flat rectangle), the bounding box of the largest object, then fixed central crops as
fallbacks. The caller embeds every candidate and keeps the one that matches the catalog
best, so a wrong quad (a sheet of paper, a phone on the table) costs little.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DETECT_SIDE = 480        # long side of the image the detector works on


@dataclass
class Candidate:
    kind: str                  # "quad", "box" or "center"
    image: np.ndarray          # RGB uint8, the flattened crop
    quad: np.ndarray           # 4x2 float32 corners in the input photo (TL, TR, BR, BL)
    score: float               # detector's confidence (higher is better)


def order_corners(pts: np.ndarray) -> np.ndarray:
    """Corners ordered TL, TR, BR, BL (by angle around the centre, starting top-left)."""
    pts = np.asarray(pts, np.float32).reshape(4, 2)
    c = pts.mean(0)
    ang = np.arctan2(pts[:, 1] - c[1], pts[:, 0] - c[0])
    pts = pts[np.argsort(ang)]                   # clockwise in image coords, from ~-pi
    i = int(np.argmin(pts.sum(1)))               # top-left has the smallest x + y
    return np.roll(pts, -i, axis=0)


def warp_quad(rgb: np.ndarray, quad: np.ndarray, out_w: int | None = None,
              out_h: int | None = None) -> np.ndarray:
    """The quad's content warped to an upright rectangle (its own size unless given)."""
    import cv2

    q = order_corners(quad)
    if out_w is None or out_h is None:
        w = 0.5 * (np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[2] - q[3]))
        h = 0.5 * (np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1]))
        out_w, out_h = max(8, int(round(w))), max(8, int(round(h)))
    dst = np.float32([[0, 0], [out_w - 1, 0], [out_w - 1, out_h - 1], [0, out_h - 1]])
    M = cv2.getPerspectiveTransform(q, dst)
    return cv2.warpPerspective(rgb, M, (out_w, out_h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)


def _quads(gray: np.ndarray, min_area: float) -> list[tuple[np.ndarray, float]]:
    """Convex quadrilaterals on edge maps of ``gray`` (scaled coords) with a shape score."""
    import cv2

    H, W = gray.shape
    out = []
    blur = cv2.GaussianBlur(gray, (5, 5), 0)
    med = float(np.median(blur))
    maps = []
    for lo_f, hi_f in ((0.66, 1.33), (0.33, 0.66)):
        edges = cv2.Canny(blur, int(max(5, lo_f * med)), int(max(20, hi_f * med)))
        maps.append(cv2.dilate(edges, np.ones((3, 3), np.uint8)))
    # colour/brightness segmentation: the cover usually differs from the table
    for m in maps:
        contours, _ = cv2.findContours(m, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        for c in contours:
            area = cv2.contourArea(c)
            if area < min_area:
                continue
            hull = cv2.convexHull(c)
            hull_area = cv2.contourArea(hull)
            if hull_area < min_area:
                continue
            peri = cv2.arcLength(hull, True)
            approx = None
            for eps in (0.02, 0.04, 0.06):
                a = cv2.approxPolyDP(hull, eps * peri, True)
                if len(a) == 4:
                    approx = a.reshape(4, 2).astype(np.float32)
                    break
            if approx is None:
                box = cv2.boxPoints(cv2.minAreaRect(hull))
                approx = box.astype(np.float32)
                fit = hull_area / max(cv2.contourArea(approx), 1.0) * 0.8
            else:
                fit = hull_area / max(cv2.contourArea(approx), 1.0)
                fit = min(fit, 1.0 / max(fit, 1e-6))
            if not cv2.isContourConvex(approx.astype(np.int32).reshape(-1, 1, 2)) and fit > 0.8:
                fit *= 0.8
            qa = cv2.contourArea(approx)
            frac = qa / (H * W)
            if frac > 0.97:                    # the frame itself
                continue
            ctr = approx.mean(0) / [W, H] - 0.5
            centred = 1.0 - float(np.hypot(*ctr))
            out.append((approx, fit * (0.5 + frac) * centred))
    return out


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    import cv2

    inter, _ = cv2.intersectConvexConvex(a.astype(np.float32), b.astype(np.float32))
    ua = cv2.contourArea(a) + cv2.contourArea(b) - inter
    return float(inter / ua) if ua > 0 else 0.0


def cover_candidates(rgb: np.ndarray, max_quads: int = 2,
                     centers: tuple[float, ...] = (0.62,)) -> list[Candidate]:
    """Crops that may hold the cover: detected quads first, then central fallbacks."""
    import cv2

    H, W = rgb.shape[:2]
    scale = DETECT_SIDE / max(H, W)
    small = cv2.resize(rgb, (max(1, int(W * scale)), max(1, int(H * scale))),
                       interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    s = small.shape[1] / W
    gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    found = _quads(gray, min_area=0.04 * gray.size)
    found.sort(key=lambda t: -t[1])
    chosen: list[tuple[np.ndarray, float]] = []
    for q, sc in found:
        q = order_corners(q)
        if all(_iou(q, c) < 0.85 for c, _ in chosen):
            chosen.append((q, sc))
        if len(chosen) >= max_quads:
            break
    out = []
    for q, sc in chosen:
        quad = q / s
        out.append(Candidate("quad", warp_quad(rgb, quad), quad.astype(np.float32), float(sc)))
    for f in centers:
        w, h = W * f, H * f
        x0, y0 = (W - w) / 2, (H - h) / 2
        quad = np.float32([[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h]])
        crop = rgb[int(y0):int(y0 + h), int(x0):int(x0 + w)]
        out.append(Candidate("center", np.ascontiguousarray(crop), quad, 0.0))
    return out
