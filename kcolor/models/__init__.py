"""kcolor's colorization models.

kcolor.models.gan          Cao et al. 2017: DiverseColorGenerator, ColorCritic, DiverseColorGAN;
                           GuidedColorGenerator (kcolor's guided variant).
kcolor.models.hypercolumn  Larsson et al. 2016: HypercolumnColorizer.
kcolor.models.vgg16        its VGG16 trunk (architecture) and the weights it can start from.
kcolor.models.base         ColorizationModel: what every model offers inference and export.
kcolor.models.presets      the bundled trained models (``Model.from_preset(name)``).
"""

from kcolor.models.base import ColorizationModel
from kcolor.models.gan import (
    ColorCritic,
    DiverseColorGAN,
    DiverseColorGenerator,
    GuidedColorGenerator,
    gan_parts,
)
from kcolor.models.hypercolumn import HypercolumnColorizer

__all__ = [
    "ColorizationModel",
    "ColorCritic",
    "DiverseColorGAN",
    "DiverseColorGenerator",
    "GuidedColorGenerator",
    "HypercolumnColorizer",
    "gan_parts",
]
