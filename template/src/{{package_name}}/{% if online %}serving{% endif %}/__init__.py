"""The online service: FastAPI app, micro-batcher, metrics, server and latency bench.

`app.create_app(config)` builds the app; `server.run_server` runs it under
uvicorn; `bench.run_latency_bench` measures it against the p99 target.
"""
