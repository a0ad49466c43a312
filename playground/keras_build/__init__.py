"""Graph -> Keras: the first package below the UI that imports TensorFlow/Keras."""

from playground.tfimport import import_tensorflow

import_tensorflow()
