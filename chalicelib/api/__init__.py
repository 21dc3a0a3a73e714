"""HTTP: thin Blueprints that parse with pydantic, call the domain and shape the response."""
