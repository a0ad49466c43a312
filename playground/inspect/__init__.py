"""Looking inside a trained network: predictions on one image, feature maps, filters, Grad-CAM.

Qt-free and TensorFlow-free at import time (``images`` never imports TensorFlow; ``model`` and
``maps`` import it inside their functions), so the CLI can check its arguments and files first.
"""
