"""cvbook: the reference implementations behind the course "Image classification with CNNs".

Subpackages follow the pipeline: data -> models -> train -> evaluate -> compress,
with grading (the exercises' checkers and course tooling) beside them.
"""

__version__ = "0.1.0"
