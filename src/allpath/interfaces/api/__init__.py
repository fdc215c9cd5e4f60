"""The HTTP service: JSON API (OpenAPI at /api/openapi.json) and the web application."""
