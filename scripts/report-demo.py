#!/usr/bin/env python3
"""Feeds a running taas-capture a week of plausible captures (for the report screenshot and its test).

  scripts/report-demo.py SOCKET [CAPTURES]

Five agents over a dozen sessions; models change on some agents mid-week; usage with cache reads."""
import json, random, socket, sys, time

sock_path = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
rng = random.Random(7)
now = int(time.time() * 1000)
week = 7 * 86_400_000
agents = ["main", "new-agent-2", "ops", "research", "triage"]
algos = ["best_fit", "price_performance", "cost", "ttft"]
sources = ["default", "org", "session"]
s = socket.socket(socket.AF_UNIX)
s.connect(sock_path)
f = s.makefile("rwb")
for i in range(count):
    at = now - week + int(week * i / count) + rng.randint(0, 60_000)
    agent = agents[i % len(agents)]
    late = at > now - week // 2
    model = {
        "main": "anthropic/claude-sonnet-4",
        "new-agent-2": "qwen3-coder" if not late else "anthropic/claude-sonnet-4",
        "ops": "gpt-5-mini",
        "research": "gpt-5" if rng.random() < 0.8 else "gemini-2.5-pro",
        "triage": "qwen3-coder",
    }[agent]
    routed = rng.random() > 0.05
    cached = rng.randint(0, 6000) if rng.random() < (0.85 if late else 0.55) else 0
    params = {
        "sessionId": f"oc:{(i % 12) * 0x1111111111111 + sum(map(ord, agent)):016x}",
        "agentId": agent,
        "capturedAt": at,
        "headers": {
            "x-taas-autorouted": "true" if routed else "false",
            "x-taas-autorouter-model": model,
            "x-taas-autorouter-mode": rng.choice(algos),
            "x-taas-autorouter-algorithm-source": rng.choice(sources),
            "x-taas-thinking-applied": rng.choice(["true", "false"]),
            "x-request-id": f"demo-{i}",
        },
        "usage": {"input": rng.randint(50, 900), "output": rng.randint(20, 800), "cacheRead": cached, "cacheWrite": rng.choice([0, 0, 0, 2000])},
        "provider": "cloudsigma",
        "requestedModel": "cloudsigma/auto",
        "costUsd": round(rng.uniform(0.0005, 0.02), 6),
        "cacheSavedUsd": round(cached * 2.7 / 1e6, 8),
        "durationMs": rng.randint(300, 9000),
        "outcome": "ok",
    }
    f.write((json.dumps({"jsonrpc": "2.0", "id": i, "method": "taas.autorouter.record", "params": params}) + "\n").encode())
    f.flush()
    reply = json.loads(f.readline())
    if "error" in reply:
        sys.exit(f"record failed: {reply['error']}")
print(f"recorded {count} captures")
