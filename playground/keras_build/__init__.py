"""Graph -> Keras: the first (and only) package below the UI that imports TensorFlow/Keras."""

import os

# TensorFlow's C++ start-up chatter is noise for users; real errors still arrive as exceptions.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
