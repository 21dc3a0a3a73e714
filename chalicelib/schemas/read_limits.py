"""The anti-scraping read limits' defaults (SecuritySettings' reads_per_minute, _hour, _day),
without pydantic: the stream function's freeze check applies them without loading the
settings schemas (docs/decisions/0007-lean-stream-and-logging.md)."""

READ_LIMIT_DEFAULTS = {"reads_per_minute": 120, "reads_per_hour": 1500, "reads_per_day": 6000}
