"""kcolor's colorization models.

kcolor.models.gan   Cao et al. 2017: DiverseColorGenerator, ColorCritic, DiverseColorGAN.
"""

from kcolor.models.gan import ColorCritic, DiverseColorGAN, DiverseColorGenerator

__all__ = ["ColorCritic", "DiverseColorGAN", "DiverseColorGenerator"]
