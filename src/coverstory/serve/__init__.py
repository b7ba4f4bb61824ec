"""coverstory.serve: the HTTP API and the web chat page.

Build the app with :func:`coverstory.serve.app.create_app`; ``coverstory serve`` runs it
under uvicorn. Nothing is built or loaded at import time.
"""
