"""Shared by the fixture generators: values made JSON-safe the way the TypeScript tests read them."""
import math

import numpy as np


def clean(x):
    """numpy scalars and arrays to plain numbers and lists; NaN and ±inf to None (JSON has neither)."""
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    if isinstance(x, (np.floating, float)):
        x = float(x)
        return x if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.ndarray):
        return clean(x.tolist())
    return x
