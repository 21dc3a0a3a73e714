"""Benchmark sections: every module here is imported and registers with `@section`."""
