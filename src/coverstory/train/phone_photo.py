"""A fixed-seed imitation of a phone photo of a book cover.

The cover is laid on a cluttered background (a table texture, objects, printed-text
scraps, sometimes a hand over an edge), seen in perspective, rotated, scaled and sometimes
cut by the frame, then lit unevenly with a glare spot, blurred (focus or motion),
given sensor noise and JPEG-compressed. The same ``seed`` always gives the same photo
(numpy ``default_rng(seed)`` + deterministic OpenCV operations), so benchmarks are
repeatable and training can use it as augmentation.

>>> from PIL import Image
>>> photo = phone_photo(Image.new("RGB", (128, 192), "navy"), seed=3)   # doctest: +SKIP
>>> photo.size                                                           # doctest: +SKIP
(480, 640)
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np

LEVELS = ("mild", "full", "hard")


@dataclass
class PhonePhoto:
    image: "object"                       # PIL.Image.Image (RGB)
    quad: np.ndarray                      # 4x2 float32: cover corners in the photo (TL,TR,BR,BL)
    params: dict = field(default_factory=dict)


def phone_photo(cover, seed: int, level: str = "full"):
    """The distorted photo (PIL RGB image) of ``cover`` (PIL image or path) for ``seed``."""
    return phone_photo_with_meta(cover, seed, level).image


def phone_photo_with_meta(cover, seed: int, level: str = "full") -> PhonePhoto:
    """Like :func:`phone_photo`, also returning the true cover corners and the parameters."""
    import cv2
    from PIL import Image

    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, not {level!r}")
    s = {"mild": 0.5, "full": 1.0, "hard": 1.4}[level]
    rng = np.random.default_rng(seed)
    if not isinstance(cover, Image.Image):
        cover = Image.open(cover)
    src = np.asarray(cover.convert("RGB"), dtype=np.uint8)
    p: dict = {"seed": int(seed), "level": level}

    # ---- the frame: portrait phone photo most of the time ------------------------------
    W, H = (480, 640) if rng.random() < 0.8 else (640, 480)
    bg = _background(rng, W, H)

    # ---- where the cover lands: scale, rotation, perspective, crop by the frame ----------
    ch, cw = src.shape[:2]
    aspect = cw / ch
    frac = rng.uniform(0.45, 0.85)                     # cover height / frame height
    if level == "mild":
        frac = rng.uniform(0.6, 0.85)
    h = frac * H
    w = h * aspect
    if w > 0.9 * W:
        w = 0.9 * W
        h = w / aspect
    angle = np.deg2rad(rng.normal(0, 12 * s))
    angle = float(np.clip(angle, -np.deg2rad(30 * s), np.deg2rad(30 * s)))
    base = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    tilt = 0.10 * s                                     # perspective: corners move by up to this
    base = base + rng.uniform(-tilt, tilt, (4, 2)) * np.array([w, h])
    if rng.random() < 0.5:                              # a consistent keystone (camera pitch)
        k = rng.uniform(0, 0.12 * s) * w
        base[0, 0] += k
        base[1, 0] -= k
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    quad = base @ rot.T
    # centre: mostly inside the frame; sometimes pushed so an edge is cut off
    span = quad.max(0) - quad.min(0)
    slack = np.maximum(np.array([W, H]) - span, 0) / 2
    out = 0.12 * s if rng.random() < 0.35 else 0.0      # fraction of the cover that may leave
    cx = W / 2 + rng.uniform(-1, 1) * (slack[0] + out * span[0])
    cy = H / 2 + rng.uniform(-1, 1) * (slack[1] + out * span[1])
    quad = (quad + [cx, cy]).astype(np.float32)
    p.update(frac=round(float(frac), 3), angle_deg=round(float(np.rad2deg(angle)), 2),
             cut=out > 0)

    # ---- paste the cover in perspective (upsampled: phones see more pixels) --------------
    up = max(1.0, h / ch)
    big = cv2.resize(src, (max(1, int(cw * up)), max(1, int(ch * up))),
                     interpolation=cv2.INTER_CUBIC)
    bh, bw = big.shape[:2]
    M = cv2.getPerspectiveTransform(
        np.float32([[0, 0], [bw, 0], [bw, bh], [0, bh]]), quad)
    warped = cv2.warpPerspective(big, M, (W, H), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT)
    mask = cv2.warpPerspective(np.full((bh, bw), 255, np.uint8), M, (W, H),
                               flags=cv2.INTER_LINEAR)
    # a soft shadow under the book
    if rng.random() < 0.7:
        off = rng.integers(3, 12, 2)
        sh = np.roll(mask, tuple(off), axis=(0, 1)).astype(np.float32) / 255
        sh = cv2.GaussianBlur(sh, (0, 0), 6) * rng.uniform(0.2, 0.5)
        bg = (bg * (1 - sh[..., None])).astype(np.uint8)
    a = (mask.astype(np.float32) / 255)[..., None]
    img = (warped * a + bg * (1 - a)).astype(np.float32)

    # ---- a hand (or another object) over an edge of the cover ----------------------------
    if rng.random() < 0.3 * s:
        img = _hand(rng, img, quad)
        p["hand"] = True

    # ---- lighting: exposure, contrast, colour temperature, uneven light -----------------
    gain = rng.uniform(1 - 0.35 * s, 1 + 0.25 * s)
    contrast = rng.uniform(1 - 0.3 * s, 1 + 0.15 * s)
    img = (img - 128) * contrast + 128
    img = img * gain * (1 + rng.uniform(-0.08, 0.08, 3) * s)     # white balance
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    theta = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(theta) * (xx / W - 0.5) + np.sin(theta) * (yy / H - 0.5))
    img = img * (1 + rng.uniform(0.1, 0.45) * s * ramp)[..., None]
    # ---- glare: a bright soft spot, often on the cover ----------------------------------
    if rng.random() < 0.6:
        gx, gy = quad.mean(0) + rng.uniform(-0.4, 0.4, 2) * span
        r = rng.uniform(0.05, 0.18) * max(W, H) * s
        ell = rng.uniform(0.4, 1.0)
        g = np.exp(-(((xx - gx) / r) ** 2 + ((yy - gy) / (r * ell)) ** 2))
        img = img + (rng.uniform(90, 200) * s * g)[..., None]
        p["glare"] = True
    img = np.clip(img, 0, 255).astype(np.uint8)

    # ---- blur: out of focus or hand shake -------------------------------------------------
    if rng.random() < 0.5:
        sigma = rng.uniform(0.3, 2.0) * s
        img = cv2.GaussianBlur(img, (0, 0), sigma)
        p["blur_sigma"] = round(float(sigma), 2)
    else:
        n = int(rng.integers(3, max(4, int(11 * s))))
        kern = np.zeros((n, n), np.float32)
        kern[n // 2, :] = 1.0 / n
        rotm = cv2.getRotationMatrix2D((n / 2 - 0.5, n / 2 - 0.5), float(rng.uniform(0, 180)), 1)
        kern = cv2.warpAffine(kern, rotm, (n, n))
        kern /= max(kern.sum(), 1e-6)
        img = cv2.filter2D(img, -1, kern)
        p["motion_px"] = n
    # ---- sensor noise + JPEG ----------------------------------------------------------------
    noise = rng.normal(0, rng.uniform(1, 6) * s, img.shape)
    img = np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    q = int(rng.integers(int(70 - 30 * s), 90))
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=q)
    p["jpeg_quality"] = q
    photo = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    return PhonePhoto(photo, quad, p)


def _background(rng, W: int, H: int) -> np.ndarray:
    """A table top with clutter: wood/fabric texture, objects, paper scraps with text."""
    import cv2

    kind = rng.integers(0, 3)
    base = rng.integers(40, 220, 3).astype(np.float32)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    if kind == 0:    # wood grain
        f = rng.uniform(0.02, 0.08)
        grain = np.sin(xx * f + 6 * np.sin(yy * rng.uniform(0.005, 0.02)) + rng.uniform(0, 6))
        tex = grain[..., None] * rng.uniform(10, 35)
    elif kind == 1:  # fabric / carpet noise
        n = rng.normal(0, 1, (H // 4 + 1, W // 4 + 1)).astype(np.float32)
        n = cv2.resize(n, (W, H), interpolation=cv2.INTER_LINEAR)
        tex = n[..., None] * rng.uniform(8, 25)
    else:            # plain painted surface with a smooth gradient
        tex = ((xx / W - 0.5) * rng.uniform(-40, 40))[..., None]
    img = np.clip(base + tex, 0, 255).astype(np.uint8).copy()
    # objects: mugs, phones, pens, other books (filled shapes with edges)
    for _ in range(int(rng.integers(2, 9))):
        col = tuple(int(c) for c in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, W)), int(rng.integers(0, H))
        shape = rng.integers(0, 4)
        if shape == 0:
            r = int(rng.integers(15, 70))
            cv2.circle(img, (x, y), r, col, -1)
            cv2.circle(img, (x, y), int(r * 0.7), tuple(int(c * 0.6) for c in col), 3)
        elif shape == 1:
            w, h = int(rng.integers(30, 200)), int(rng.integers(30, 250))
            box = cv2.boxPoints(((x, y), (w, h), float(rng.uniform(0, 180))))
            cv2.fillPoly(img, [box.astype(np.int32)], col)
        elif shape == 2:
            pts = [(x, y), (x + int(rng.integers(-200, 200)), y + int(rng.integers(-200, 200)))]
            cv2.line(img, pts[0], pts[1], col, int(rng.integers(2, 9)))
        else:            # a printed scrap: paper with text lines
            w, h = int(rng.integers(60, 180)), int(rng.integers(40, 140))
            cv2.rectangle(img, (x, y), (x + w, y + h), (235, 235, 225), -1)
            for ty in range(y + 12, y + h - 4, 14):
                words = "".join(chr(int(c)) for c in rng.integers(97, 123, int(rng.integers(4, 14))))
                cv2.putText(img, words, (x + 5, ty), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (30, 30, 30), 1)
    return img


def _hand(rng, img: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """A skin-coloured thumb/hand blob over one edge of the cover."""
    import cv2

    skin = np.array([rng.uniform(150, 235), rng.uniform(105, 180), rng.uniform(80, 150)])
    e = int(rng.integers(0, 4))
    a, b = quad[e], quad[(e + 1) % 4]
    t = rng.uniform(0.2, 0.8)
    cx, cy = a + t * (b - a)
    span = np.linalg.norm(b - a)
    axes = (int(span * rng.uniform(0.08, 0.18)), int(span * rng.uniform(0.15, 0.3)))
    ang = float(np.rad2deg(np.arctan2(*(b - a)[::-1])) + 90)
    layer = img.copy()
    cv2.ellipse(layer, (int(cx), int(cy)), axes, ang, 0, 360, tuple(float(c) for c in skin), -1)
    m = np.zeros(img.shape[:2], np.float32)
    cv2.ellipse(m, (int(cx), int(cy)), axes, ang, 0, 360, 1.0, -1)
    m = cv2.GaussianBlur(m, (0, 0), 3)[..., None]
    return layer * m + img * (1 - m)
