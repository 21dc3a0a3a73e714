"""Pydantic models: `*Request` bodies, `*Response` shapes and the entities between layers."""
