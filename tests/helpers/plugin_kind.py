"""A model kind as another package would ship it: registered when its module is imported
(the test points a ``kcolor.model_kinds`` entry point at this module)."""

from kcolor.models import registry


def _build(request):
    raise NotImplementedError("registered only to be found")


registry.register(
    registry.ModelKind(
        name="plugin_kind",
        description="a kind from an entry point",
        run_defaults={
            "image_size": 16,
            "batch_size": 2,
            "optimizer": "adam",
            "learning_rate": 1e-3,
        },
        settings={},
        build=_build,
    )
)
