"""kcolor's colorization models.

kcolor.models.gan          Cao et al. 2017: DiverseColorGenerator, ColorCritic, DiverseColorGAN;
                           GuidedColorGenerator (kcolor's guided variant).
kcolor.models.hypercolumn  Larsson et al. 2016: HypercolumnColorizer.
kcolor.models.trunks       the trunks a hypercolumn model stands on (vgg16, mobilenet,
                           mobilenet_v2): how each is built, tapped, frozen and loaded.
kcolor.models.vgg16        the VGG16 trunk (architecture) and the weights it can start from.
kcolor.models.mobilenets   the MobileNet and MobileNetV2 trunks and their weights.
kcolor.models.tflite_weights  weights read out of an int8 TFLite network (dequantized).
kcolor.models.base         ColorizationModel: what every model offers inference and export.
kcolor.models.presets      the bundled trained models (``Model.from_preset(name)``).
kcolor.models.registry     the model kinds ``kcolor train`` builds (name, defaults,
                           settings, how each builds itself); hypercolumn_kind and
                           gan_kind register kcolor's two.
"""

from kcolor.models import gan_kind, hypercolumn_kind, registry  # noqa: F401  (register)
from kcolor.models.base import ColorizationModel
from kcolor.models.gan import (
    ColorCritic,
    DiverseColorGAN,
    DiverseColorGenerator,
    GuidedColorGenerator,
    gan_parts,
)
from kcolor.models.hypercolumn import HypercolumnColorizer
from kcolor.models.trunks import TRUNKS
from kcolor.models.trunks import kind_of as trunk_kind

__all__ = [
    "ColorizationModel",
    "ColorCritic",
    "DiverseColorGAN",
    "DiverseColorGenerator",
    "GuidedColorGenerator",
    "HypercolumnColorizer",
    "TRUNKS",
    "gan_parts",
    "trunk_kind",
]

# Kinds other installed packages add (entry points "kcolor.model_kinds").
registry.load_plugin_kinds()
