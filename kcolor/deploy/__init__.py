"""Deployment: SavedModels for TF Serving, TFLite files for devices, their clients.

kcolor.deploy.export   SavedModel export for TF Serving (the colorize path in the graph);
                       it owns the ``serving_default`` signature's names.
kcolor.deploy.serving  REST and gRPC clients for a model served by TF Serving.
kcolor.deploy.tflite   TFLite variants for devices, run with ai-edge-litert.
kcolor.deploy.int8     int8 inference on the CPU: TFLite conversions made on first use
                       and cached.
"""
