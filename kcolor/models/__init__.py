"""kcolor's colorization models.

kcolor.models.gan          Cao et al. 2017: DiverseColorGenerator, ColorCritic, DiverseColorGAN;
                           GuidedColorGenerator (kcolor's guided variant).
kcolor.models.hypercolumn  Larsson et al. 2016: HypercolumnColorizer.
"""

from kcolor.models.gan import (
    ColorCritic,
    DiverseColorGAN,
    DiverseColorGenerator,
    GuidedColorGenerator,
)
from kcolor.models.hypercolumn import HypercolumnColorizer

__all__ = [
    "ColorCritic",
    "DiverseColorGAN",
    "DiverseColorGenerator",
    "GuidedColorGenerator",
    "HypercolumnColorizer",
]
