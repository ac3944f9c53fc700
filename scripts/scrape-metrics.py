#!/usr/bin/env python3
"""Scrapes a taas-capture /metrics endpoint and parses it with prometheus_client's own text parser
(PyPI), printing one JSON object: {"samples": {"name{label=value,...}": value}, "status": ...}.

  scripts/scrape-metrics.py http://127.0.0.1:9464/metrics"""
import json, sys, urllib.error, urllib.request

from prometheus_client.parser import text_string_to_metric_families

url = sys.argv[1]
with urllib.request.urlopen(url, timeout=10) as response:
    content_type = response.headers.get("Content-Type", "")
    text = response.read().decode("utf-8")
samples = {}
for family in text_string_to_metric_families(text):
    for sample in family.samples:
        labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
        samples[f"{sample.name}{{{labels}}}"] = sample.value
print(json.dumps({"contentType": content_type, "samples": samples}))
