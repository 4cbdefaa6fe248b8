"""ganpipe: reproducible, distributed pipelines that train, evaluate and register GANs."""

__version__ = "0.1.0"
