"""chinwag's benchmark tool: `make bench` or `python -m bench --help`; see bench/README.md.

It starts `chinwag serve` itself (SQLite in a temporary directory, PostgreSQL in a fresh
database), loads it over HTTP from separate worker processes with a bounded number of requests,
runs the same load against Stoplight Prism mocking Twilio's spec, and prints a table and writes
JSON to bench/results/.
"""
