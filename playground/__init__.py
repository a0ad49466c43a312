"""Keras Architecture Playground: build, check, train and export CNNs as editable graphs."""

__version__ = "0.1.0"
