"""The online service: FastAPI app, request state, routes, micro-batcher, metrics, server.

`app.create_app(config)` builds the app; `server.run_server` runs it under
uvicorn. The latency bench that measures it against the p99 target lives in
`bench/latency.py`.
"""
