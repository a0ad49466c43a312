"""Export formats, one module each; every module here that defines ``FORMAT`` is registered."""
