"""HTTP: thin Blueprints that parse with pydantic, call the domain and shape the response.

A view imports its domain module where it runs (`from chalicelib.domain import leads` as its
first line), never at the top of the blueprint: `import app` registers every route with only
the schemas and `domain.roles`, and the domain, pynamodb and botocore load on the first request
that needs them (the API's cold start; tests/test_entry.py checks it). A route's roles come from
`domain.roles`; `routing.load_views` imports what the views import before their source is read
for the OpenAPI document's error codes.
"""
