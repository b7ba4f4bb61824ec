"""One seed for Python, NumPy and torch (training runs that must repeat)."""

from __future__ import annotations

import numpy as np


def set_seed(seed: int) -> None:
    import random

    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
