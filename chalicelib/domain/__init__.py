"""Business rules. Never imports chalice, pynamodb, boto3 or jinja2."""
