"""Prefect flows that orchestrate ganpipe's stages."""
