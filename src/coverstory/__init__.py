"""coverstory: a multimodal book recommendation chatbot."""

__version__ = "0.1.0"
