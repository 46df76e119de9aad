"""swapcam benchmarks: ``python -m benchmarks [--quick] [--only SECTION,…]`` (results in benchmarks/out)."""
